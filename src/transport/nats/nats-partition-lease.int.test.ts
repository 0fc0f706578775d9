// Partition ownership on the machine's NATS (127.0.0.1:4222), which it never restarts: two consumer
// processes of one group with batch handlers at prefetch 16 (the durables' max_ack_pending is 16).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';
import { serviceUnavailable } from '../../../test/services.js';
import { openNatsBroker } from '../../nats.js';
import { natsNames } from './nats-topology.js';

const SERVERS = ['nats://127.0.0.1:4222'];
const skip = await serviceUnavailable('NATS', 4222);
/** A short ack wait: the lease (2.75 s here, see leaseTiming) outlives it, and a takeover comes within the test. */
const SETTINGS = { partitions: 4, ackWaitMs: 1000 } as const;
const KEYS = 20;
const PER_KEY_PER_PHASE = 100;
const GROUP = 'owners';

interface Handled {
  worker: number;
  partition: number;
  key: string;
  n: number;
}

/** A consumer process; each "got" line it prints lands in `handled`, in arrival order over both processes. */
function startWorker(index: number, topic: string, handled: Handled[]): { child: ChildProcess; ready: Promise<void> } {
  const script = fileURLToPath(new URL('../../../test/transport/workers/nats-batch-consumer.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, SERVERS.join(','), topic, GROUP, JSON.stringify(SETTINGS), '16'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let rest = '';
  let errors = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString()).split('\n');
      rest = lines.pop()!;
      for (const line of lines) {
        if (line === 'ready') resolve();
        const got = /^got (\d+) (\S+) (\d+)$/.exec(line);
        if (got) handled.push({ worker: index, partition: Number(got[1]), key: got[2]!, n: Number(got[3]) });
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    child.once('exit', (code, signal) => reject(new Error(`worker ${index} exited (${code ?? signal}) before ready: ${errors}`)));
  });
  ready.catch(() => {});
  return { child, ready };
}

async function killed(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** The n of one key's handlings in arrival order, per key. */
function byKey(handled: Handled[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const h of handled) out.set(h.key, [...(out.get(h.key) ?? []), h.n]);
  return out;
}

describe.skipIf(skip)(`NATS partition leases${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  });

  it(`two consumer processes of one group, batch handlers at prefetch 16, ${KEYS * PER_KEY_PER_PHASE} messages over ${KEYS} keys: each key in order, each once; then as many again with one holder SIGKILLed midway, the other takes its partitions over and each key stays in order`, { timeout: 120_000 }, async () => {
    const topic = `lease-${randomUUID().slice(0, 8)}`;
    const handled: Handled[] = [];
    const workers = [startWorker(0, topic, handled)];
    cleanups.push(() => killed(workers[0]!.child));
    await workers[0]!.ready;
    workers.push(startWorker(1, topic, handled));
    cleanups.push(() => killed(workers[1]!.child));
    await workers[1]!.ready;
    cleanups.push(async () => {
      const nc = await connect({ servers: SERVERS });
      const jsm = await jetstreamManager(nc);
      for (const name of [natsNames.stream(topic), natsNames.deadLetterStream(topic, GROUP), natsNames.leaseStream(topic, GROUP)]) await jsm.streams.delete(name).catch(() => {});
      await nc.close();
    });
    const producer = await openNatsBroker({ servers: SERVERS, ...SETTINGS });
    cleanups.push(() => producer.close());
    // The second process joined after the first took every lease: the first hands two back.
    await sleep(2000);

    const publishPhase = async (from: number, during?: () => Promise<void>): Promise<void> => {
      for (let n = from; n < from + PER_KEY_PER_PHASE; n += 5) {
        const batch = Array.from({ length: KEYS }, (_, k) => Array.from({ length: 5 }, (_, i) => ({ id: randomUUID(), key: `key-${k}`, headers: { n: String(n + i) }, body: Buffer.from('{}') }))).flat();
        const results = await producer.publish(topic, batch);
        expect(new Set(results.map((r) => r.status))).toEqual(new Set(['confirmed']));
        await during?.();
        await sleep(30);
      }
    };

    // Phase 1: both alive. Each key's messages are handled once each, in order, by one process.
    const perPhase = KEYS * PER_KEY_PER_PHASE;
    await publishPhase(1);
    await until(() => handled.length >= perPhase, 30_000, 'phase 1');
    await sleep(500);
    expect(handled).toHaveLength(perPhase);
    for (const [key, ns] of byKey(handled)) expect(ns, key).toEqual(Array.from({ length: PER_KEY_PER_PHASE }, (_, i) => i + 1));
    const partitionsOf = (worker: number, of: Handled[]) => new Set(of.filter((h) => h.worker === worker).map((h) => h.partition));
    // The partitions were shared, each pulled by one process only.
    expect(partitionsOf(0, handled).size).toBeGreaterThan(0);
    expect(partitionsOf(1, handled).size).toBeGreaterThan(0);
    expect([...partitionsOf(0, handled)].filter((p) => partitionsOf(1, handled).has(p))).toEqual([]);

    // Phase 2: the process that handled more of it so far is SIGKILLed midway.
    const phase2Start = handled.length;
    let victim: number | undefined;
    let killedAt = 0;
    await publishPhase(PER_KEY_PER_PHASE + 1, async () => {
      const sofar = handled.slice(phase2Start);
      if (victim !== undefined || sofar.length < perPhase / 2) return;
      victim = sofar.filter((h) => h.worker === 0).length >= sofar.filter((h) => h.worker === 1).length ? 0 : 1;
      await killed(workers[victim]!.child);
      killedAt = handled.length;
    });
    expect(victim).toBeDefined();
    const distinct = () => new Set(handled.map((h) => `${h.key}:${h.n}`)).size;
    await until(() => distinct() >= 2 * perPhase, 60_000, 'phase 2');
    await sleep(500);
    const survivor = 1 - victim!;
    const victimPartitions = partitionsOf(victim!, handled.slice(phase2Start));
    // The survivor took the dead holder's partitions over.
    for (const p of victimPartitions) expect(partitionsOf(survivor, handled.slice(killedAt)).has(p)).toBe(true);
    let rehandled = 0;
    for (const [key, ns] of byKey(handled)) {
      // In order: each next one is the one after, or (once, after the takeover) a step back to the
      // dead holder's unacked messages, handled again from there in order.
      let rewinds = 0;
      for (let i = 1; i < ns.length; i++) {
        if (ns[i] === ns[i - 1]! + 1) continue;
        expect(ns[i], `${key}: ${ns.join(',')}`).toBeLessThanOrEqual(ns[i - 1]!);
        rewinds++;
      }
      expect(rewinds, key).toBeLessThanOrEqual(1);
      expect(new Set(ns), key).toEqual(new Set(Array.from({ length: 2 * PER_KEY_PER_PHASE }, (_, i) => i + 1)));
      rehandled += ns.length - 2 * PER_KEY_PER_PHASE;
    }
    process.stdout.write(`[nats-partition-lease] victim ${victim} held partitions ${[...victimPartitions].join(',')}; ${handled.length} handlings, ${rehandled} handled again after the takeover\n`);
  });
});
