import { eventLog } from './001-event-log.js';
import { consumerTables } from './002-consumer-tables.js';
import { snapshotTable } from './003-snapshots.js';
import { leanAppend } from './004-lean-append.js';
import { consumerFailureDetails } from './005-dead-letter-details.js';
import { workflowTables } from './006-workflow-tables.js';
import { semanticLocks } from './007-semantic-locks.js';
import { archivedBefore } from './008-archived-before.js';
import { deadLetterRequests } from './009-dead-letter-requests.js';
import { runnerReports } from './010-runner-reports.js';
import type { Migration } from './migration.js';

/**
 * Every migration, in the order they apply: the number in each file's name is its `version`
 * (migrations.test.ts holds them to it). The numbers are what databases record as applied, so
 * they never change; a new migration is the next file.
 */
export const MIGRATIONS: readonly Migration[] = [eventLog, consumerTables, snapshotTable, leanAppend, consumerFailureDetails, workflowTables, semanticLocks, archivedBefore, deadLetterRequests, runnerReports];
