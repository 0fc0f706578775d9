/** One difference between two states: where (a path of keys), and the value before and after. */
export interface StateChange {
  /** Keys from the root, e.g. `['lines', 'sku-1', 'quantity']`; `[]` for the state itself. */
  path: string[];
  kind: 'added' | 'removed' | 'changed';
  before?: unknown;
  after?: unknown;
}

/**
 * A state as plain JSON, the way people read it: a `Map` becomes an object (or a list of
 * entries when its keys are not strings), a `Set` a list, a `Date` its ISO string, a bigint its
 * digits. A decider's state may hold any of them; the dashboard and the CLI show JSON.
 *
 * @example
 * plainState(new Map([['a', new Set([1])]])) // { a: [1] }
 */
export function plainState(value: unknown): unknown {
  if (value instanceof Map) {
    const entries = [...value.entries()].map(([k, v]) => [k, plainState(v)] as const);
    return entries.every(([k]) => typeof k === 'string') ? Object.fromEntries(entries) : entries.map(([k, v]) => [plainState(k), v]);
  }
  if (value instanceof Set) return [...value].map(plainState);
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(plainState);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plainState(v)]));
  return value;
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * What changed from `before` to `after` (both plain JSON, see `plainState`): a change per
 * added, removed or changed leaf, objects compared key by key. Lists are compared whole: a
 * list that changed is one change, which reads better than a change per shifted index.
 *
 * @example
 * stateChanges({ status: 'open', total: 1 }, { status: 'paid', total: 1 }) // [{ path: ['status'], kind: 'changed', before: 'open', after: 'paid' }]
 */
export function stateChanges(before: unknown, after: unknown, path: string[] = []): StateChange[] {
  if (isObject(before) && isObject(after)) {
    const changes: StateChange[] = [];
    for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
      const at = [...path, key];
      if (!(key in after)) changes.push({ path: at, kind: 'removed', before: before[key] });
      else if (!(key in before)) changes.push({ path: at, kind: 'added', after: after[key] });
      else changes.push(...stateChanges(before[key], after[key], at));
    }
    return changes;
  }
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  if (before === undefined) return [{ path, kind: 'added', after }];
  if (after === undefined) return [{ path, kind: 'removed', before }];
  return [{ path, kind: 'changed', before, after }];
}
