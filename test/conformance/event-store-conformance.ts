/**
 * The event store conformance suite: every rule of the EventStore port, one file per feature,
 * run against every store (memory, PGlite, PostgreSQL) so that they cannot drift apart.
 */
import { describeOnStores, type OnStoresOptions } from '../describe-on-stores.js';
import { appendConformance } from './append.js';
import { deletionConformance } from './deletion.js';
import { expectedVersionConformance } from './expected-version.js';
import { faithfulInputsConformance } from './faithful-inputs.js';
import { idempotencyConformance } from './idempotency.js';
import { listStreamsConformance } from './list-streams.js';
import { metadataConformance } from './metadata.js';
import { onAppendedConformance } from './on-appended.js';
import { readAllConformance } from './read-all.js';
import { readStreamConformance } from './read-stream.js';
import { validationConformance } from './validation.js';

const features = [
  appendConformance,
  expectedVersionConformance,
  idempotencyConformance,
  readStreamConformance,
  readAllConformance,
  metadataConformance,
  deletionConformance,
  listStreamsConformance,
  validationConformance,
  faithfulInputsConformance,
  onAppendedConformance,
];

/** Every feature of the port on each of `stores`. */
export function eventStoreConformance(stores: OnStoresOptions['stores']): void {
  describeOnStores('event store conformance', (on) => {
    for (const feature of features) feature(on);
  }, { stores });
}
