// Definitions are checked when made; the output helpers build what the runner records.
import { describe, expect, it } from 'vitest';
import { cancel, complete, defineWorkflow, publish, schedule, send } from './workflow.js';
import { caught } from '../../test/caught.js';

const base = { inputs: ['Placed'] as const, id: () => 'x', initialState: () => ({}), evolve: (s: object) => s, decide: () => [] };

describe('defineWorkflow', () => {
  it('refuses a name that would break its stream ids, no inputs, and TimerFired declared as an input', async () => {
    for (const definition of [
      { ...base, name: 'with-dash' },
      { ...base, name: 'ok', inputs: [] },
      { ...base, name: 'ok', inputs: ['TimerFired'] },
    ]) {
      const error = await caught(Promise.resolve().then(() => defineWorkflow(definition as never)));
      expect((error as { code?: string }).code).toBe('INVALID_ARGUMENT');
    }
    expect(Object.isFrozen(defineWorkflow({ ...base, name: 'order_v2.eu' }))).toBe(true);
  });

  it('builds outputs: a due time given as a Date is kept as ISO 8601, a result only when given', () => {
    expect(schedule('t', { at: new Date('2026-01-02T03:04:05Z'), payload: { n: 1 } })).toEqual({ kind: 'schedule', timer: 't', at: '2026-01-02T03:04:05.000Z', payload: { n: 1 } });
    expect(schedule('t', { afterMs: 10 })).toEqual({ kind: 'schedule', timer: 't', afterMs: 10 });
    expect(complete()).toEqual({ kind: 'complete' });
    expect(complete('done')).toEqual({ kind: 'complete', result: 'done' });
    expect(cancel('t')).toEqual({ kind: 'cancel', timer: 't' });
    expect(send({ type: 'C', data: 1 })).toEqual({ kind: 'command', command: { type: 'C', data: 1 } });
    expect(publish('s-1', { type: 'E', data: 2 })).toEqual({ kind: 'event', streamId: 's-1', event: { type: 'E', data: 2 } });
  });
});
