/**
 * `npm run bench:broker [-- --quick]`: factum's RabbitMQ publish of event messages in batches
 * (what the relay will do: one batch at a time, the next only after every confirm) beside raw
 * amqplib publishing the same messages with the same durability (persistent, to the same durable
 * quorum queues, publisher confirms) in the same run. Raw runs several simple confirm windows and
 * is compared at its best one. Prints a table and writes bench/results/broker-publish.{json,md}.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import type { RecordedEvent } from '../src/core/message.js';
import type { BrokerMessage } from '../src/transport/broker-message.js';
import { openRabbitMqBroker, rabbitMqNames, type RabbitMqBroker } from '../src/rabbitmq.js';
import { eventToMessage } from '../src/transport/message-envelope.js';
import { benchEvent } from './bench-event.js';
import { nowSeconds } from './measure.js';
import { prepareForAmqp, rawRun } from './raw-amqp-publish.js';

const quick = process.argv.includes('--quick');
const url = process.env.FACTUM_AMQP_URL ?? 'amqp://127.0.0.1';
const MESSAGES = quick ? 5_000 : 20_000;
const BATCH = 500;
const ROUNDS = quick ? 2 : 7;
const PARTITIONS = 4;
const RAW_WINDOWS = [64, 256, 1024, BATCH] as const;
const FACTUM_WINDOWS = [256, 1024] as const;
const here = path.dirname(fileURLToPath(import.meta.url));

function events(): RecordedEvent[] {
  return Array.from({ length: MESSAGES }, (_, i) => {
    const streamId = `order-${i % 1000}`;
    const e = benchEvent(streamId, Math.floor(i / 1000) + 1);
    return { ...e, schemaVersion: 1, streamId, streamVersion: Math.floor(i / 1000) + 1, globalPosition: BigInt(i + 1), recordedAt: new Date() };
  });
}

/** factum: `broker.publish` per batch of messages made from the events (by `eventToMessage`) before the clock starts. */
async function factumRun(broker: RabbitMqBroker, topic: string, batches: BrokerMessage[][]): Promise<number> {
  const start = nowSeconds();
  for (const messages of batches) {
    const results = await broker.publish(topic, messages);
    if (results.some((r) => r.status !== 'confirmed')) throw new Error('a message was not confirmed');
  }
  return nowSeconds() - start;
}

async function amqplibVersion(): Promise<string> {
  const main = createRequire(import.meta.url).resolve('amqplib');
  return (JSON.parse(await readFile(path.join(path.dirname(main), 'package.json'), 'utf8')) as { version: string }).version;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const loadAtStart = os.loadavg()[0]!;
  const topic = `factum-bench-${process.pid}`;
  const group = 'bench';
  const all = events();
  const batches = Array.from({ length: MESSAGES / BATCH }, (_, b) => all.slice(b * BATCH, (b + 1) * BATCH));
  const messages = batches.map((events) => events.map(eventToMessage));
  const prepared = messages.map((batch) => prepareForAmqp(batch, PARTITIONS));
  const brokers = new Map<number, RabbitMqBroker>();
  for (const window of FACTUM_WINDOWS) brokers.set(window, await openRabbitMqBroker({ url, partitions: PARTITIONS, confirmWindow: window }));
  const setup = brokers.get(FACTUM_WINDOWS[0])!;
  // The group's quorum queues exist (declared by a consumer that stops at once) and receive every message.
  await (await setup.consume({ topic, group, handler: async () => {} })).stop();
  const connection = await amqp.connect(url);
  const channel = await connection.createConfirmChannel();
  const purge = async () => {
    for (let p = 0; p < PARTITIONS; p++) await channel.purgeQueue(rabbitMqNames.partitionQueue(topic, group, p));
  };
  const systems: Array<{ name: string; run: () => Promise<number> }> = [
    ...FACTUM_WINDOWS.map((window) => ({ name: `factum (confirm window ${window})`, run: () => factumRun(brokers.get(window)!, topic, messages) })),
    ...RAW_WINDOWS.map((window) => ({ name: window === BATCH ? `raw amqplib (batch, then waitForConfirms)` : `raw amqplib (window ${window})`, run: () => rawRun(channel, topic, prepared, window) })),
  ];
  const rates = new Map<string, number[]>(systems.map((s) => [s.name, []]));
  try {
    // One warm-up each, then the rounds, systems in rotating order so machine drift hits all alike.
    for (const system of systems) {
      await system.run();
      await purge();
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < systems.length; i++) {
        const system = systems[(i + round) % systems.length]!;
        const seconds = await system.run();
        rates.get(system.name)!.push(MESSAGES / seconds);
        await purge();
      }
    }
  } finally {
    await setup.deleteTopology(topic, [group]).catch(() => {});
    await channel.close().catch(() => {});
    await connection.close().catch(() => {});
    for (const broker of brokers.values()) await broker.close();
  }
  const rows = systems.map((s) => ({ system: s.name, median: median(rates.get(s.name)!), rounds: rates.get(s.name)!.map(Math.round) }));
  const bestRaw = rows.filter((r) => r.system.startsWith('raw')).reduce((a, b) => (b.median > a.median ? b : a));
  const factumDefault = rows.find((r) => r.system === 'factum (confirm window 1024)')!;
  const ratio = factumDefault.median / bestRaw.median;
  const lines = [
    '# Broker publish: factum on RabbitMQ vs raw amqplib',
    '',
    `Run of ${new Date().toISOString()}${quick ? ' (quick)' : ''}, produced by \`npm run bench:broker\`. RabbitMQ on 127.0.0.1, amqplib ${await amqplibVersion()}; ${os.cpus().length} cores, load average ${loadAtStart.toFixed(1)} at the start and ${os.loadavg()[0]!.toFixed(1)} at the end (other work on the machine makes rounds spread).`,
    '',
    `${MESSAGES} event messages (~270 bytes of JSON data plus factum's headers) per run, in batches of ${BATCH}, one batch at a time; persistent, to ${PARTITIONS} durable quorum queues, with publisher confirms. Both start from the same messages, made from the events by eventToMessage before the clock starts (the conversion is the relay's cost whatever publishes); raw gets them already as AMQP content and properties with the partition's routing key, and publishes without mandatory, so factum's time includes mapping each message to AMQP, the size check, the partition hash and its per-message results. ${ROUNDS} rounds per system after one warm-up, interleaved; messages/s, median of the rounds.`,
    '',
    '| System | Median msg/s | vs best raw | Rounds |',
    '| --- | ---: | ---: | --- |',
    ...rows.map((r) => `| ${r.system} | ${Math.round(r.median)} | ${(r.median / bestRaw.median).toFixed(2)} | ${r.rounds.join(', ')} |`),
    '',
    `factum's default (confirm window 1024) / best raw (${bestRaw.system}): **${ratio.toFixed(2)}** (target >= 0.80: ${ratio >= 0.8 ? 'met' : 'NOT met'}).`,
  ];
  console.log(lines.join('\n'));
  if (!quick) {
    await writeFile(path.join(here, 'results', 'broker-publish.md'), `${lines.join('\n')}\n`);
    await writeFile(path.join(here, 'results', 'broker-publish.json'), `${JSON.stringify({ messages: MESSAGES, batch: BATCH, rounds: ROUNDS, rows, ratio }, null, 2)}\n`);
  }
}

await main();
