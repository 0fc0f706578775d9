import type { Command } from 'commander';
import { FactumError } from '../../core/errors.js';
import { WorkflowQueries } from '../../sagas/workflow-queries.js';
import type { Workflow } from '../../sagas/workflow.js';
import { action, integer } from '../cli-command.js';
import { eventLine, table } from '../cli-output.js';
import { withStore } from '../cli-store.js';
import { loadConfig } from '../load-config.js';

type AnyWorkflow = Workflow<any, any, any, any>;

/** The config's workflows, or the one named; a name the config lacks is NOT_FOUND, naming those it has. */
async function workflowsOf(flags: { config?: string }, name: string | undefined): Promise<AnyWorkflow[]> {
  const { config } = (await loadConfig(flags.config, { required: 'factum sagas' }))!;
  const all = config.workflows ?? [];
  if (name === undefined) return all;
  const found = all.find((w) => w.name === name);
  if (!found) throw new FactumError('NOT_FOUND', `No workflow "${name}" in the config (it has: ${all.map((w) => w.name).join(', ') || 'none'})`, { details: { workflow: name } });
  return [found];
}

export function sagasCommand(program: Command): void {
  const sagas = program.command('sagas').description("The config's workflows and sagas: instances by status or phase, and one instance's log, state, timers and locks");
  sagas
    .command('list', { isDefault: true })
    .description('Instances of every workflow of the config (or one), oldest change first')
    .option('-w, --workflow <name>', 'only this workflow')
    .option('--status <status>', 'running or completed')
    .option('--phase <phase>', "a saga's phase: running, compensating, completed, compensated or failed")
    .option('-n, --limit <count>', 'instances per workflow, at most', integer('--limit'), 100)
    .action(
      action<[], { workflow?: string; status?: 'running' | 'completed'; phase?: string; limit: number }>(async (_args, flags, out) => {
        if (flags.status !== undefined && flags.status !== 'running' && flags.status !== 'completed') throw new FactumError('INVALID_ARGUMENT', `--status is running or completed, got "${flags.status}"`);
        const workflows = await workflowsOf(flags, flags.workflow);
        const rows = await withStore(flags, async (store) => {
          const found = [];
          for (const workflow of workflows) {
            found.push(...(await new WorkflowQueries(store, workflow).instances({ limit: flags.limit, ...(flags.status ? { status: flags.status } : {}), ...(flags.phase ? { phase: flags.phase } : {}) })));
          }
          return found;
        });
        out.result(rows, () => {
          if (rows.length === 0) return out.line('No instances.');
          const cells = rows.map((r) => [r.workflow, r.instanceId, r.status, r.phase ?? '', String(r.version), r.updatedAt.toISOString()]);
          for (const line of table(['workflow', 'instance', 'status', 'phase', 'version', 'changed'], cells)) out.line(line);
        });
      }),
    );
  sagas
    .command('show')
    .description("One instance: its status and phase, its state (the fold of its log), its log, pending timers and semantic locks")
    .argument('<workflow>', 'the workflow (its name in the config)')
    .argument('<instance>', 'the instance id')
    .action(
      action<[string, string], object>(async ([name, instanceId], flags, out) => {
        const [workflow] = await workflowsOf(flags, name);
        const details = await withStore(flags, (store) => new WorkflowQueries(store, workflow!).instance(instanceId));
        if (!details) throw new FactumError('NOT_FOUND', `Workflow "${name}" has no instance "${instanceId}"`, { details: { workflow: name, instanceId } });
        out.result(details, () => {
          out.line(`${details.workflow} ${details.instanceId}: ${details.status}${details.phase ? ` (${details.phase})` : ''}, log ${details.streamId} at version ${details.version}`);
          out.line(`state ${JSON.stringify(details.state)}`);
          out.line();
          for (const event of details.log) out.line(eventLine(event));
          out.line();
          out.line(details.timers.length === 0 ? 'No pending timers.' : 'Pending timers:');
          for (const t of details.timers) out.line(`  ${t.timer} due ${t.dueAt.toISOString()}`);
          out.line(details.locks.length === 0 ? 'No semantic locks.' : 'Semantic locks:');
          for (const l of details.locks) out.line(`  ${l.resource} ${l.state} since ${l.since.toISOString()}${l.expiresAt ? `, expires ${l.expiresAt.toISOString()}` : ''}`);
        });
      }),
    );
}
