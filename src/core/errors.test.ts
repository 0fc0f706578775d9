// Errors are recognised by their code, through one check; every error class ends in `Error`,
// names itself, and has its guard `is<ClassName>` beside it in the public surface.
import { describe, expect, it } from 'vitest';
import * as factum from '../index.js';
import { ConcurrencyError, FactumError, hasCode, isInfrastructureError, isValidationError } from './errors.js';

/** A FactumError made by another copy of the package: same shape, another class. */
const fromAnotherCopy = (code: string, extra: Record<string, unknown> = {}) => Object.assign(new Error('elsewhere'), { code, details: {}, ...extra });

describe('error guards', () => {
  it('hasCode matches any of the codes given, on errors of any copy of the package', () => {
    expect(hasCode(new FactumError('STORE_LOCKED', 'locked'), 'STORE_LOCKED')).toBe(true);
    expect(hasCode(fromAnotherCopy('STORE_LOCKED'), 'CONNECTION_FAILED', 'STORE_LOCKED')).toBe(true);
    expect(hasCode(fromAnotherCopy('STORE_LOCKED'), 'CONNECTION_FAILED')).toBe(false);
    expect(hasCode(fromAnotherCopy('STORE_LOCKED'))).toBe(false);
    for (const notAnError of [undefined, null, 'STORE_LOCKED', 42, { code: 42 }]) expect(hasCode(notAnError, 'STORE_LOCKED')).toBe(false);
  });

  it('every guard checks the code, not the class', () => {
    const guards: [(error: unknown) => boolean, string][] = [
      [factum.isConcurrencyError, 'CONCURRENCY_CONFLICT'],
      [factum.isIdempotencyConflict, 'IDEMPOTENCY_CONFLICT'],
      [factum.isStreamTombstoned, 'STREAM_TOMBSTONED'],
      [factum.isStoreClosed, 'STORE_CLOSED'],
      [factum.isCheckpointConflict, 'CHECKPOINT_CONFLICT'],
      [factum.isWaitTimeout, 'WAIT_TIMEOUT'],
      [factum.isEventSchemaViolationError, 'EVENT_SCHEMA_VIOLATION'],
      [factum.isDomainError, 'DOMAIN_RULE_VIOLATED'],
      [isValidationError, 'EVENT_SCHEMA_VIOLATION'],
      [isInfrastructureError, 'CONNECTION_FAILED'],
    ];
    for (const [guard, code] of guards) {
      expect(guard(fromAnotherCopy(code)), `${guard.name} on ${code}`).toBe(true);
      expect(guard(fromAnotherCopy('SOMETHING_ELSE')), `${guard.name} on another code`).toBe(false);
    }
    expect(factum.isDomainError(fromAnotherCopy('DOMAIN_RULE_VIOLATED', { reason: 'CartFull' }), 'CartFull')).toBe(true);
    expect(factum.isDomainError(fromAnotherCopy('DOMAIN_RULE_VIOLATED', { reason: 'CartFull' }), 'CartEmpty')).toBe(false);
  });

  it('every error class ends in Error, names itself, and is exported with its guard', () => {
    const classes = Object.entries(factum).filter(
      (entry): entry is [string, typeof FactumError] => typeof entry[1] === 'function' && (entry[1] === FactumError || entry[1].prototype instanceof FactumError),
    );
    expect(classes.map(([name]) => name).sort()).toEqual(['ConcurrencyError', 'DomainError', 'EventSchemaViolationError', 'FactumError']);
    const samples: Record<string, FactumError> = {
      FactumError: new FactumError('STORAGE_ERROR', 'x'),
      ConcurrencyError: new ConcurrencyError('s-1', '3', 4, true),
      DomainError: new factum.DomainError('CartFull'),
      EventSchemaViolationError: new factum.EventSchemaViolationError('ItemAdded', 1, 0, [{ path: 'sku', message: 'required' }]),
    };
    for (const [name] of classes) {
      expect(name.endsWith('Error')).toBe(true);
      expect(samples[name]!.name).toBe(name);
      const guard = (factum as Record<string, unknown>)[`is${name}`] as ((error: unknown) => boolean) | undefined;
      expect(typeof guard, `is${name}`).toBe('function');
      expect(guard!(samples[name])).toBe(true);
    }
  });
});
