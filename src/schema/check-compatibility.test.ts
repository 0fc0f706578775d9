// The BACKWARD compatibility check: every breaking-change rule is caught, and declaring a new
// version with an upcaster (instead of editing the old one) passes.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isFactumError } from '../core/errors.js';
import { assertCompatible, checkCompatibility } from './check-compatibility.js';
import { defineEvent } from './event-type.js';
import { schemaSnapshot } from './schema-snapshot.js';
import { checkSchemaFile } from './schema-snapshot-file.js';

const v1 = z.object({ sku: z.string(), quantity: z.number().int(), note: z.string().optional(), address: z.object({ city: z.string() }) });
const committed = schemaSnapshot([defineEvent('ItemAdded', v1), defineEvent('CartCheckedOut', z.object({ total: z.number() }))]);
const checkout = defineEvent('CartCheckedOut', z.object({ total: z.number() }));

/** Checks the code where ItemAdded v1 is now `schema` (edited in place). */
const editV1 = (schema: z.ZodType) => checkCompatibility(committed, [defineEvent('ItemAdded', schema), checkout]);

describe('checkCompatibility (BACKWARD)', () => {
  it('passes when nothing changed, and when only optional fields or fields with defaults were added', () => {
    expect(checkCompatibility(committed, [defineEvent('ItemAdded', v1), checkout])).toMatchObject({ compatible: true, problems: [] });
    const widened = v1.extend({ colour: z.string().optional(), gift: z.boolean().default(false) });
    expect(editV1(widened).compatible).toBe(true);
    // integer → number accepts every old value.
    expect(editV1(v1.extend({ quantity: z.number() })).compatible).toBe(true);
  });

  it('catches a removed required field', () => {
    const report = editV1(v1.omit({ quantity: true }));
    expect(report.compatible).toBe(false);
    expect(report.problems).toEqual([expect.objectContaining({ eventType: 'ItemAdded', version: 1, rule: 'removed-required-field', path: 'quantity' })]);
    expect(report.problems[0]!.message).toMatch(/ItemAdded v1: quantity: required field removed; .*declare v2 with an upcaster/);
  });

  it('catches a renamed required field', () => {
    const renamed = z.object({ productSku: z.string(), quantity: z.number().int(), note: z.string().optional(), address: z.object({ city: z.string() }) });
    const report = editV1(renamed);
    expect(report.problems).toEqual([expect.objectContaining({ rule: 'renamed-required-field', path: 'sku' })]);
    expect(report.problems[0]!.message).toContain('renamed to "productSku"');
  });

  it('catches a changed type, at any depth', () => {
    expect(editV1(v1.extend({ quantity: z.string() })).problems).toEqual([expect.objectContaining({ rule: 'changed-type', path: 'quantity' })]);
    expect(editV1(v1.extend({ address: z.object({ city: z.number() }) })).problems).toEqual([
      expect.objectContaining({ rule: 'changed-type', path: 'address.city', message: expect.stringContaining('from string to number') }),
    ]);
  });

  it('catches a new required field without a default, and an optional field made required', () => {
    expect(editV1(v1.extend({ currency: z.string() })).problems).toEqual([expect.objectContaining({ rule: 'added-required-field', path: 'currency' })]);
    expect(editV1(v1.extend({ note: z.string() })).problems).toEqual([expect.objectContaining({ rule: 'made-field-required', path: 'note' })]);
  });

  it('catches removed versions and removed event types', () => {
    const report = checkCompatibility(committed, [checkout]);
    expect(report.problems).toEqual([expect.objectContaining({ eventType: 'ItemAdded', rule: 'removed-event-type' })]);
    const twoVersions = schemaSnapshot([defineEvent('E', z.object({ a: z.string() })).withVersion(2, z.object({ b: z.string() }), (d) => ({ b: d.a }))]);
    expect(checkCompatibility(twoVersions, [defineEvent('E', z.object({ a: z.string() }))]).problems).toEqual([
      expect.objectContaining({ eventType: 'E', version: 2, rule: 'removed-version' }),
    ]);
  });

  it('passes every one of those changes once it is declared as a new version with an upcaster', () => {
    const v2 = z.object({ productSku: z.string(), quantity: z.string(), currency: z.string(), note: z.string(), address: z.object({ city: z.number() }) });
    const itemAdded = defineEvent('ItemAdded', v1).withVersion(2, v2, (old) => ({
      productSku: old.sku,
      quantity: String(old.quantity),
      currency: 'EUR',
      note: old.note ?? '',
      address: { city: 0 },
    }));
    const report = checkCompatibility(committed, [itemAdded, checkout]);
    expect(report).toMatchObject({ compatible: true, problems: [], added: [{ eventType: 'ItemAdded', version: 2 }] });
  });

  it('assertCompatible throws SCHEMA_INCOMPATIBLE listing every problem', () => {
    let error: unknown;
    try {
      assertCompatible(committed, [defineEvent('ItemAdded', v1.omit({ sku: true }).extend({ quantity: z.boolean() })), checkout]);
    } catch (e) {
      error = e;
    }
    expect(isFactumError(error) && error.code).toBe('SCHEMA_INCOMPATIBLE');
    expect((error as Error).message).toMatch(/sku: required field removed[\s\S]*quantity: type changed/);
  });

  it('uses a JSON Schema given by hand when the library cannot make one', () => {
    const plain = { '~standard': { version: 1 as const, vendor: 'hand-made', validate: (value: unknown) => ({ value }) } };
    expect(() => schemaSnapshot([defineEvent('Plain', plain)])).toThrow(/cannot produce JSON Schema/);
    const jsonSchema = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] };
    const before = schemaSnapshot([defineEvent('Plain', plain, { jsonSchema })]);
    const after = [defineEvent('Plain', plain, { jsonSchema: { type: 'object', properties: {}, required: [] } })];
    expect(checkCompatibility(before, after).problems).toEqual([expect.objectContaining({ rule: 'removed-required-field', path: 'id' })]);
  });
});

describe('checkSchemaFile', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('creates the snapshot file, accepts compatible changes and refuses breaking ones without touching the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'factum-schema-'));
    dirs.push(dir);
    const file = join(dir, 'events.schema.json');
    expect(await checkSchemaFile(file, [defineEvent('ItemAdded', v1)], { update: true })).toMatchObject({ compatible: true, written: true });
    const first = await readFile(file, 'utf8');
    expect(JSON.parse(first).eventTypes.ItemAdded['1'].required).toEqual(['sku', 'quantity', 'address']);

    const broken = await checkSchemaFile(file, [defineEvent('ItemAdded', v1.omit({ sku: true }))], { update: true });
    expect(broken).toMatchObject({ compatible: false, written: false });
    expect(await readFile(file, 'utf8')).toBe(first);

    const next = defineEvent('ItemAdded', v1).withVersion(2, v1.omit({ sku: true }), ({ sku: _sku, ...rest }) => rest);
    expect(await checkSchemaFile(file, [next], { update: true })).toMatchObject({ compatible: true, written: true });
    expect(Object.keys(JSON.parse(await readFile(file, 'utf8')).eventTypes.ItemAdded)).toEqual(['1', '2']);
  });
});
