/**
 * The parent's side of the shop across processes: it starts each service as a child process
 * (the same Node with tsx), talks to it over the IPC channel, settles the flows on what the
 * services report, and stops them (SIGKILL for the fault test). The children watch the channel:
 * when this process dies they stop too.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FactumError } from '../../../src/index.js';
import { consumersOf, OWN_CATEGORY, SERVICE_NAMES, serviceStoreConfig, topicPrefixOf, type BusConfig, type Category, type ServiceMessage, type ServiceName, type ServiceProcessConfig, type ServiceReport, type ServiceRequest } from './bus-config.js';

const SCRIPT = fileURLToPath(new URL('./service-process.ts', import.meta.url));
// Resolved here, so the children load tsx whatever their working directory (the package's one
// export is its loader, so `require.resolve` finds the file `--import tsx` would).
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** A request as the caller writes it: the id is added here. */
type Request = ServiceRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never;

interface Child {
  process: ChildProcess;
  pending: Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>;
  output: string[];
  exited: Promise<void>;
}

export class ServiceProcesses {
  readonly topicPrefix: string;
  private readonly children = new Map<ServiceName, Child>();
  private nextId = 1;
  private readonly onParentExit = () => this.killAll();

  constructor(private readonly config: BusConfig) {
    this.topicPrefix = topicPrefixOf(config);
  }

  /**
   * Starts the four services, each with its consumers (which declare their queues), and only
   * then their relays: an event published before a group's queue exists would not reach it.
   */
  async start(): Promise<void> {
    process.once('exit', this.onParentExit);
    try {
      await Promise.all(SERVICE_NAMES.map((name) => this.spawn(name)));
      await Promise.all(SERVICE_NAMES.map((name) => this.request(name, { op: 'start-relay' })));
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  private spawn(name: ServiceName): Promise<void> {
    const config: ServiceProcessConfig = { service: name, store: serviceStoreConfig(this.config, name), broker: this.config.broker, brokerUrl: this.config.brokerUrl, topicPrefix: this.topicPrefix };
    const child = fork(SCRIPT, [JSON.stringify(config)], { execArgv: ['--import', TSX], serialization: 'advanced', stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    const entry: Child = { process: child, pending: new Map(), output: [], exited: new Promise((resolve) => child.once('exit', () => resolve())) };
    this.children.set(name, entry);
    const keep = (chunk: Buffer) => entry.output.push(chunk.toString());
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    return new Promise<void>((resolve, reject) => {
      child.on('message', (message: ServiceMessage) => {
        if (message.kind === 'ready') resolve();
        else if (message.kind === 'failed') reject(new FactumError('INVALID_ARGUMENT', `The ${name} service could not start: ${message.error}`));
        else {
          const waiting = entry.pending.get(message.id);
          entry.pending.delete(message.id);
          if (message.ok) waiting?.resolve(message.value);
          else waiting?.reject(Object.assign(new Error(message.error), { code: message.code }));
        }
      });
      child.once('exit', (code, signal) => {
        const error = new Error(`The ${name} service exited (${code ?? signal})${entry.output.length ? `: ${entry.output.join('').trim().split('\n').slice(-5).join(' | ')}` : ''}`);
        reject(error);
        for (const waiting of entry.pending.values()) waiting.reject(error);
        entry.pending.clear();
      });
    });
  }

  request<T = unknown>(name: ServiceName, request: Request): Promise<T> {
    const child = this.children.get(name);
    if (!child || child.process.exitCode !== null || child.process.signalCode !== null) return Promise.reject(new Error(`The ${name} service is not running`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      child.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      child.process.send({ ...request, id } as ServiceRequest);
    });
  }

  command<T>(name: ServiceName, command: string, ...args: unknown[]): Promise<T> {
    return this.request<T>(name, { op: 'command', name: command, args });
  }

  reports(): Promise<ServiceReport[]> {
    return Promise.all(SERVICE_NAMES.map((name) => this.request<ServiceReport>(name, { op: 'report' })));
  }

  pid(name: ServiceName): number | undefined {
    return this.children.get(name)?.process.pid;
  }

  /** SIGKILL: the process dies wherever it is (mid-batch, between commit and ack, mid-publish). */
  async kill(name: ServiceName): Promise<void> {
    const child = this.children.get(name);
    if (!child || child.process.exitCode !== null || child.process.signalCode !== null) return;
    child.process.kill('SIGKILL');
    await child.exited;
  }

  /** Starts a service again (after `kill`): from its checkpoints, its inbox and its queues. */
  async restart(name: ServiceName): Promise<void> {
    await this.spawn(name);
    await this.request(name, { op: 'start-relay' });
  }

  /**
   * Resolves once the flows have settled: every relay has published its whole log, every read
   * model has followed it, and every consumer has handled every message of its topic (counted in
   * each service's store, in the handler's transaction), twice in a row with the same heads.
   */
  async settle(timeoutMs = 180_000): Promise<ServiceReport[]> {
    const until = Date.now() + timeoutMs;
    let previous = '';
    for (;;) {
      const reports = await this.reports();
      const waiting = pendingWork(reports);
      const heads = reports.map((r) => r.head).join(',');
      if (waiting.length === 0 && heads === previous) return reports;
      previous = waiting.length === 0 ? heads : '';
      if (Date.now() > until) throw new FactumError('WAIT_TIMEOUT', `The shop did not settle within ${timeoutMs} ms: ${waiting.join('; ')}`);
      await delay(waiting.length === 0 ? 50 : 100);
    }
  }

  /** Stops every service cleanly (consumers, relay, store), killing any that does not stop in time. */
  async stop(timeoutMs = 30_000): Promise<void> {
    process.removeListener('exit', this.onParentExit);
    await Promise.all(
      [...this.children].map(async ([name, child]) => {
        if (child.process.exitCode !== null || child.process.signalCode !== null) return;
        const stopped = this.request(name, { op: 'stop' }).catch(() => {});
        const late = delay(timeoutMs).then(() => child.process.kill('SIGKILL'));
        await Promise.race([stopped.then(() => child.exited), late]);
        await child.exited;
      }),
    );
    this.children.clear();
  }

  /** The parent is exiting without `stop`: no child outlives it. */
  private killAll(): void {
    for (const child of this.children.values()) child.process.kill('SIGKILL');
  }

  output(name: ServiceName): string {
    return this.children.get(name)?.output.join('') ?? '';
  }
}

/** What is still on its way, one line per lagging relay, read model or consumer. */
export function pendingWork(reports: ServiceReport[]): string[] {
  const byCategory = new Map<Category, ServiceReport>(reports.map((r) => [OWN_CATEGORY[r.service], r]));
  const waiting: string[] = [];
  for (const report of reports) {
    if (report.relay.position < report.head) waiting.push(`${report.service} relay at ${report.relay.position} of ${report.head}`);
    for (const model of report.readModels) if (model.position < report.head) waiting.push(`${report.service} read model ${model.name} at ${model.position} of ${report.head}`);
    for (const consumer of report.consumers) {
      const expected = byCategory.get(consumer.category)?.events ?? 0;
      if (consumer.received + consumer.deadLettered < expected) waiting.push(`${consumer.name} handled ${consumer.received} of ${expected}`);
    }
  }
  return waiting;
}

/** The topics and groups of one shop, for the teardown of tests: `broker.deleteTopology(topic, groups)`. */
export function shopTopology(topicPrefix: string): Array<{ topic: string; groups: ServiceName[] }> {
  return (Object.values(OWN_CATEGORY) as Category[]).map((category) => ({ topic: `${topicPrefix}.${category}`, groups: consumersOf(category) }));
}
