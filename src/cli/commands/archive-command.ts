import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { FactumError } from '../../core/errors.js';
import { archiveEvents } from '../../store/archive/archive-events.js';
import { readArchiveManifest } from '../../store/archive/archive-manifest.js';
import type { RetentionPolicy, RetentionRule } from '../../store/archive/retention-policy.js';
import { verifyArchive } from '../../store/archive/verify-archive.js';
import { action, integer, position } from '../cli-command.js';
import { progressBar } from '../cli-progress-bar.js';
import { withStore } from '../cli-store.js';

interface ArchiveFlags {
  category?: string;
  stream?: string;
  maxAge?: number;
  maxCount?: number;
  beforeVersion?: number;
  policy?: string;
  maxPosition?: bigint;
  segmentSize?: number;
  verify?: boolean;
}

export function archiveCommand(program: Command): void {
  program
    .command('archive')
    .description(
      'Move the events a retention policy removes to an archive directory (gzipped JSON-lines segments and a manifest with their sha256), then delete them from the live log. Run it again on the same directory after a crash: it finishes the archive it started',
    )
    .argument('<directory>', 'the archive directory (one archive per directory)')
    .option('-c, --category <name>', 'the rule applies to the streams of this category')
    .option('-s, --stream <id>', 'the rule applies to this stream')
    .option('--max-age <seconds>', 'archive events recorded more than this many seconds ago', integer('--max-age'))
    .option('--max-count <count>', 'keep only the latest N events of each stream in the log', integer('--max-count'))
    .option('--before-version <version>', 'archive the versions below this one', integer('--before-version'))
    .option('--policy <file>', 'a JSON file holding the policy ({"rules": [{"category": "order", "maxAgeSeconds": 31536000}, ...]}) instead of one rule from the options')
    .option('--max-position <position>', 'archive nothing past this global position; by default the position of the checkpoint furthest behind, so that no runner misses an event', position('--max-position'))
    .option('--segment-size <count>', 'events per segment file', integer('--segment-size'), 10_000)
    .option('--verify', 'only check the archive in <directory> (every segment\'s size, sha256 and events), without a store')
    .action(
      action<[string], ArchiveFlags>(async ([directory], flags, out) => {
        if (flags.verify) {
          const verified = await verifyArchive(directory);
          out.result(
            { directory, status: verified.manifest.status, segments: verified.segments, events: verified.events, firstPosition: verified.manifest.firstPosition, lastPosition: verified.manifest.lastPosition },
            () => out.line(`The archive in ${directory} is sound: ${verified.events} events in ${verified.segments} segments, positions ${verified.manifest.firstPosition ?? '-'} to ${verified.manifest.lastPosition ?? '-'} (${verified.manifest.status}).`),
          );
          return;
        }
        const existing = await readArchiveManifest(directory);
        const policy = existing ? existing.policy : await policyOf(flags);
        const started = Date.now();
        let bar = progressBar('archive', existing?.events ?? 0);
        let phase = '';
        const result = await withStore(flags, (store) =>
          archiveEvents(store, {
            policy,
            directory,
            segmentSize: flags.segmentSize ?? 10_000,
            ...(flags.maxPosition !== undefined ? { maxPosition: flags.maxPosition } : {}),
            onProgress: (p) => {
              if (p.phase !== phase) {
                bar.stop();
                bar = progressBar(p.phase === 'writing' ? 'archive: writing' : 'archive: deleting', p.total);
                phase = p.phase;
              }
              bar.update(p.events, { events: p.events });
            },
          }),
        ).finally(() => bar.stop());
        const seconds = (Date.now() - started) / 1000;
        const summary = {
          directory,
          status: result.manifest.status,
          events: result.events,
          removed: result.removed,
          segments: result.manifest.segments.length,
          streams: result.manifest.streams.length,
          resumed: result.resumed,
          firstPosition: result.manifest.firstPosition,
          lastPosition: result.manifest.lastPosition,
          seconds,
          ...(result.limitedBy ? { limitedBy: result.limitedBy } : {}),
        };
        out.result(summary, () => {
          out.line(
            `${result.resumed ? 'Finished the archive' : 'Archived'} ${result.events} events of ${summary.streams} streams in ${summary.segments} segments to ${directory}` +
              `; ${result.removed} deleted from the log by this run, in ${seconds.toFixed(1)} s.`,
          );
          if (result.limitedBy) out.line(`Nothing past position ${result.limitedBy.position} was archived: runner ${result.limitedBy.checkpoint} has not read further (--max-position sets the limit yourself).`);
        });
      }),
    );
}

/** The policy from `--policy <file>`, or the one rule the options describe. */
async function policyOf(flags: ArchiveFlags): Promise<RetentionPolicy> {
  if (flags.policy) {
    if (flags.category || flags.stream || flags.maxAge !== undefined || flags.maxCount !== undefined || flags.beforeVersion !== undefined) {
      throw new FactumError('INVALID_ARGUMENT', '--policy takes the whole policy from its file: leave out --category, --stream, --max-age, --max-count and --before-version');
    }
    let text: string;
    try {
      text = await readFile(flags.policy, 'utf8');
    } catch (error) {
      throw new FactumError('NOT_FOUND', `Cannot read the policy file ${flags.policy}: ${(error as Error).message}`, { cause: error });
    }
    try {
      return JSON.parse(text) as RetentionPolicy;
    } catch (error) {
      throw new FactumError('INVALID_ARGUMENT', `The policy file ${flags.policy} is not JSON: ${(error as Error).message}`, { cause: error });
    }
  }
  if (flags.category && flags.stream) throw new FactumError('INVALID_ARGUMENT', 'Give --category or --stream, not both (use --policy for several rules)');
  const rule: RetentionRule = {
    ...(flags.category ? { category: flags.category } : {}),
    ...(flags.stream ? { streamId: flags.stream } : {}),
    ...(flags.maxAge !== undefined ? { maxAgeSeconds: flags.maxAge } : {}),
    ...(flags.maxCount !== undefined ? { maxCount: flags.maxCount } : {}),
    ...(flags.beforeVersion !== undefined ? { beforeVersion: flags.beforeVersion } : {}),
  };
  if (rule.maxAgeSeconds === undefined && rule.maxCount === undefined && rule.beforeVersion === undefined) {
    throw new FactumError('INVALID_ARGUMENT', 'Say what to archive: --max-age <seconds>, --max-count <count> or --before-version <version> (or --policy <file>)');
  }
  return { rules: [rule] };
}
