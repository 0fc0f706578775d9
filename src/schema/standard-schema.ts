/**
 * The parts of Standard Schema (https://standardschema.dev) that factum uses, declared here so
 * that neither the core nor its published types depend on a validation library: zod, valibot,
 * arktype and any other implementation fit these shapes structurally.
 */

/** A path segment of a validation issue: a key, or an object holding one. */
export type StandardPathSegment = PropertyKey | { readonly key: PropertyKey };

/** One problem found by a schema. */
export interface StandardIssue {
  readonly message: string;
  readonly path?: ReadonlyArray<StandardPathSegment> | undefined;
}

/** The result of `~standard.validate`. */
export type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<StandardIssue> };

/**
 * A Standard Schema (v1). `jsonSchema` is the optional Standard JSON Schema converter, which the
 * compatibility check uses when the library provides it (zod 4 does).
 *
 * @example
 * import { z } from 'zod'
 * const schema: StandardSchemaV1<{ sku: string }> = z.object({ sku: z.string() })
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
    readonly jsonSchema?: {
      readonly input: (options: { readonly target: string }) => Record<string, unknown>;
    };
  };
}

/** The type of the data a schema accepts. */
export type InferInput<S extends StandardSchemaV1> = NonNullable<S['~standard']['types']>['input'];
/** The type of the data a schema returns. */
export type InferOutput<S extends StandardSchemaV1> = NonNullable<S['~standard']['types']>['output'];

/** Renders an issue path as `items[0].sku` (or `(root)` for the value itself). */
export function formatIssuePath(path: StandardIssue['path']): string {
  if (!path || path.length === 0) return '(root)';
  let out = '';
  for (const segment of path) {
    const key = typeof segment === 'object' && segment !== null ? segment.key : segment;
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}
