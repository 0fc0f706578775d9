/**
 * A three-node NATS JetStream cluster on loopback for the cluster test: three `nats-server`
 * processes (client ports 4232-4234, cluster routes on 6232-6234, monitoring on 8232-8234), each
 * with its own store directory under a temp dir. The test starts and stops it itself, because the
 * fault it studies is one of these nodes dying: it is not a service the other tests expect
 * running, so scripts/services.sh does not start it. The machine's own NATS on 4222 is never
 * touched.
 *
 * Every process is SIGKILLed when the test process exits, and their pids are kept in a file, so
 * that a run that was itself SIGKILLed (no exit handler) has its leftovers killed by the next one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { portOpen } from './services.js';

export const NATS_SERVER = process.env.FACTUM_NATS_SERVER ?? '/usr/sbin/nats-server';
const CLIENT_PORT = 4232;
const ROUTE_PORT = 6232;
const MONITOR_PORT = 8232;
/** Marks this cluster's processes (in their config path), so that only they are ever killed. */
const MARK = 'factum-nats-cluster';
const PID_FILE = path.join(tmpdir(), `${MARK}.pids`);

export interface ClusterNode {
  /** The server name JetStream reports as a stream's leader: `n1`, `n2`, `n3`. */
  name: string;
  url: string;
  monitorUrl: string;
  running: boolean;
}

export interface NatsCluster {
  nodes: ClusterNode[];
  /** Every node's client URL: what a client is given. */
  urls: string[];
  /** SIGKILLs a node (it stays down until `restart`). */
  kill(name: string): Promise<void>;
  /** Starts a killed node again on its store directory and waits until it accepts clients. */
  restart(name: string): Promise<void>;
  /** The names of the clients connected to a node (from its `/connz`). */
  clientNames(name: string): Promise<string[]>;
  /** Kills every node and removes the store directories. */
  stop(): Promise<void>;
}

/** Why the cluster cannot run here, or undefined. */
export async function natsClusterUnavailable(): Promise<string | undefined> {
  const { access } = await import('node:fs/promises');
  if (!(await access(NATS_SERVER).then(() => true, () => false))) return `no nats-server at ${NATS_SERVER}`;
  await killLeftovers();
  for (let i = 0; i < 3; i++) {
    for (const port of [CLIENT_PORT + i, ROUTE_PORT + i, MONITOR_PORT + i]) {
      if (await portOpen(port)) return `port ${port} is taken (the NATS cluster needs ${CLIENT_PORT}-${CLIENT_PORT + 2}, ${ROUTE_PORT}-${ROUTE_PORT + 2}, ${MONITOR_PORT}-${MONITOR_PORT + 2})`;
    }
  }
  return undefined;
}

/** Kills the processes a previous run left behind (listed in the pid file and still carrying the mark). */
async function killLeftovers(): Promise<void> {
  const pids = (await readFile(PID_FILE, 'utf8').catch(() => '')).split('\n').map(Number).filter((pid) => pid > 0);
  for (const pid of pids) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (!cmdline.includes(MARK)) continue;
    process.kill(pid, 'SIGKILL');
    while (await readFile(`/proc/${pid}/stat`).then(() => true, () => false)) await sleep(20);
  }
  await rm(PID_FILE, { force: true });
  // And their store directories.
  for (const entry of await readdir(tmpdir())) if (entry.startsWith(`${MARK}-`)) await rm(path.join(tmpdir(), entry), { recursive: true, force: true });
}

/**
 * Starts the three nodes and waits until JetStream has a meta leader.
 *
 * @example
 * const cluster = await startNatsCluster()
 * const broker = await openNatsBroker({ servers: cluster.urls, replicas: 3 })
 * await cluster.kill('n2'); await cluster.restart('n2')
 * await cluster.stop()
 */
export async function startNatsCluster(): Promise<NatsCluster> {
  const dir = await mkdtemp(path.join(tmpdir(), `${MARK}-`));
  const processes = new Map<string, ChildProcess>();
  const nodes: ClusterNode[] = [0, 1, 2].map((i) => ({
    name: `n${i + 1}`,
    url: `nats://127.0.0.1:${CLIENT_PORT + i}`,
    monitorUrl: `http://127.0.0.1:${MONITOR_PORT + i}`,
    running: false,
  }));
  const routes = [0, 1, 2].map((i) => `"nats://127.0.0.1:${ROUTE_PORT + i}"`).join(', ');
  const configs = await Promise.all(
    nodes.map(async (node, i) => {
      const file = path.join(dir, `${node.name}.conf`);
      await writeFile(
        file,
        [
          `server_name: ${node.name}`,
          `listen: "127.0.0.1:${CLIENT_PORT + i}"`,
          `http: "127.0.0.1:${MONITOR_PORT + i}"`,
          `jetstream { store_dir: "${path.join(dir, node.name)}" }`,
          `cluster { name: ${MARK}, listen: "127.0.0.1:${ROUTE_PORT + i}", routes: [${routes}] }`,
          '',
        ].join('\n'),
      );
      return file;
    }),
  );
  // Kills what is left if the test process ends without stop() (a failed assertion that threw past it, a signal).
  const killAll = (): void => {
    for (const child of processes.values()) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', killAll);

  const writePids = () => writeFile(PID_FILE, [...processes.values()].map((c) => c.pid).join('\n'));
  const launch = async (node: ClusterNode): Promise<void> => {
    const i = nodes.indexOf(node);
    const child = spawn(NATS_SERVER, ['-c', configs[i]!, '-l', path.join(dir, `${node.name}.log`)], { stdio: 'ignore' });
    processes.set(node.name, child);
    await writePids();
    node.running = true;
    for (let tries = 0; !(await portOpen(CLIENT_PORT + i)); tries++) {
      if (child.exitCode !== null || tries > 200) throw new Error(`nats-server ${node.name} did not start (log: ${path.join(dir, `${node.name}.log`)})`);
      await sleep(50);
    }
  };
  const kill = async (name: string): Promise<void> => {
    const child = processes.get(name);
    const node = nodes.find((n) => n.name === name);
    if (!child || !node) throw new Error(`no node ${name}`);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    node.running = false;
  };
  const varz = async (node: ClusterNode, endpoint: string): Promise<unknown> => {
    const response = await fetch(`${node.monitorUrl}/${endpoint}`);
    return response.json();
  };

  try {
    await Promise.all(nodes.map(launch));
    // JetStream answers once the nodes have elected a meta leader.
    for (let tries = 0; ; tries++) {
      const js = (await Promise.all(nodes.map((n) => varz(n, 'jsz').catch(() => ({}))))) as Array<{ meta_cluster?: { leader?: string; cluster_size?: number } }>;
      // /healthz is ok once a node's JetStream is current with the meta leader (a leader alone is not enough: API requests still time out).
      const health = (await Promise.all(nodes.map((n) => varz(n, 'healthz').catch(() => ({}))))) as Array<{ status?: string }>;
      if (js.every((j) => j.meta_cluster?.leader && j.meta_cluster.cluster_size === 3) && health.every((h) => h.status === 'ok')) break;
      if (tries > 300) throw new Error('the NATS cluster elected no JetStream meta leader in 30 s');
      await sleep(100);
    }
    // Even then the first stream requests may time out: ready once a replicated stream can be created from every node.
    for (const node of nodes) {
      const nc = await connect({ servers: node.url, name: 'cluster-probe' });
      try {
        const jsm = await jetstreamManager(nc, { timeout: 2000 });
        for (let tries = 0; ; tries++) {
          const ok = await jsm.streams.add({ name: `probe_${node.name}`, subjects: [`factum-probe.${node.name}`], num_replicas: 3 }).then(() => true, () => false);
          if (ok) break;
          if (tries > 15) throw new Error(`the NATS cluster cannot create a stream through ${node.name}`);
          await sleep(200);
        }
        await jsm.streams.delete(`probe_${node.name}`);
      } finally {
        await nc.close();
      }
    }
  } catch (error) {
    killAll();
    throw error;
  }

  return {
    nodes,
    urls: nodes.map((n) => n.url),
    kill,
    async restart(name) {
      const node = nodes.find((n) => n.name === name);
      if (!node) throw new Error(`no node ${name}`);
      await kill(name);
      await launch(node);
    },
    async clientNames(name) {
      const node = nodes.find((n) => n.name === name)!;
      const connz = (await varz(node, 'connz')) as { connections?: Array<{ name?: string }> };
      return (connz.connections ?? []).map((c) => c.name ?? '');
    },
    async stop() {
      for (const node of nodes) await kill(node.name);
      process.removeListener('exit', killAll);
      await rm(PID_FILE, { force: true });
      await rm(dir, { recursive: true, force: true });
    },
  };
}
