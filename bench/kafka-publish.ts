/**
 * `npm run bench:kafka [-- --quick]`: factum's Kafka publish of event messages in batches (the
 * relay's way: one batch at a time, the next after every ack) beside raw kafkajs sending the same
 * records with the same durability (acks=all, one request in flight, the partition picked by the
 * same hash) in the same run, against librdkafka's mock cluster (the only Kafka here). The mock
 * writes to memory, so this measures the client and factum's share, not a real broker's disks.
 * Prints a table and writes bench/results/kafka-publish.{json,md}.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type Message } from 'kafkajs';
import { partitionOf } from '../src/consumers/partition-of.js';
import type { RecordedEvent } from '../src/core/message.js';
import { openKafkaBroker } from '../src/kafka.js';
import type { BrokerMessage } from '../src/transport/broker-message.js';
import { toKafka } from '../src/transport/kafka/kafka-message.js';
import { eventToMessage } from '../src/transport/message-envelope.js';
import { benchEvent } from './bench-event.js';
import { nowSeconds } from './measure.js';

const quick = process.argv.includes('--quick');
const MESSAGES = quick ? 5_000 : 20_000;
const BATCH = 500;
const ROUNDS = quick ? 2 : 5;
const PARTITIONS = 4;
const here = path.dirname(fileURLToPath(import.meta.url));
const mockDir = process.env.FACTUM_KAFKA_MOCK_DIR ?? '/tmp/factum-kafka-mock';
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function events(): RecordedEvent[] {
  return Array.from({ length: MESSAGES }, (_, i) => {
    const streamId = `order-${i % 1000}`;
    const e = benchEvent(streamId, Math.floor(i / 1000) + 1);
    return { ...e, schemaVersion: 1, streamId, streamVersion: Math.floor(i / 1000) + 1, globalPosition: BigInt(i + 1), recordedAt: new Date() };
  });
}

async function kafkajsVersion(): Promise<string> {
  const main = createRequire(import.meta.url).resolve('kafkajs');
  return (JSON.parse(await readFile(path.join(path.dirname(main), 'package.json'), 'utf8')) as { version: string }).version;
}

async function main(): Promise<void> {
  const loadAtStart = os.loadavg()[0]!;
  const brokers = (process.env.FACTUM_KAFKA_BROKERS ?? (await readFile(`${mockDir}/bootstrap`, 'utf8'))).trim().split(',');
  const topic = `factum-bench-${process.pid}`;
  const all = events();
  const messages: BrokerMessage[][] = Array.from({ length: MESSAGES / BATCH }, (_, b) => all.slice(b * BATCH, (b + 1) * BATCH).map(eventToMessage));
  const prepared: Message[][] = messages.map((batch) => batch.map((m) => ({ ...toKafka(m), partition: partitionOf(m.key, PARTITIONS) })));
  const kafka = new Kafka({ clientId: 'bench-raw', brokers, logLevel: logLevel.NOTHING });
  // The mock names no controller, so neither side can use kafkajs' idempotent producer there.
  const producer = kafka.producer({ maxInFlightRequests: 1, allowAutoTopicCreation: true });
  await producer.connect();
  const raw = async (): Promise<number> => {
    const start = nowSeconds();
    for (const batch of prepared) await producer.send({ topic, acks: -1, messages: batch });
    return nowSeconds() - start;
  };
  // The raw warm-up creates the topic (the mock creates topics on first use), so factum finds it routable.
  await raw();
  const broker = await openKafkaBroker({ brokers, partitions: PARTITIONS, idempotent: false });
  const factum = async (): Promise<number> => {
    const start = nowSeconds();
    for (const batch of messages) {
      const results = await broker.publish(topic, batch);
      if (results.some((r) => r.status !== 'confirmed')) throw new Error(`a message was not confirmed: ${JSON.stringify(results.find((r) => r.status !== 'confirmed'))}`);
    }
    return nowSeconds() - start;
  };
  const systems = [
    { name: 'factum KafkaBroker.publish', run: factum },
    { name: 'raw kafkajs producer.send', run: raw },
  ];
  const rates = new Map<string, number[]>(systems.map((s) => [s.name, []]));
  try {
    await factum();
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < systems.length; i++) {
        const system = systems[(i + round) % systems.length]!;
        rates.get(system.name)!.push(MESSAGES / (await system.run()));
      }
    }
  } finally {
    await broker.close();
    await producer.disconnect();
  }
  const rows = systems.map((s) => ({ system: s.name, median: median(rates.get(s.name)!), rounds: rates.get(s.name)!.map(Math.round) }));
  const ratio = rows[0]!.median / rows[1]!.median;
  const lines = [
    '# Kafka publish: factum vs raw kafkajs, on librdkafka\'s mock cluster',
    '',
    `Run of ${new Date().toISOString()}${quick ? ' (quick)' : ''}, produced by \`npm run bench:kafka\`. librdkafka 2.0.2 mock cluster (3 brokers, in memory) on 127.0.0.1, kafkajs ${await kafkajsVersion()}; ${os.cpus().length} cores, load average ${loadAtStart.toFixed(1)} at the start and ${os.loadavg()[0]!.toFixed(1)} at the end (other work on the machine makes rounds spread).`,
    '',
    `${MESSAGES} event messages per run in batches of ${BATCH}, one batch at a time, acks=all, one request in flight, ${PARTITIONS} partitions; both start from the same messages (raw already as Kafka records with their partition). ${ROUNDS} rounds after a warm-up, interleaved; messages/s, median.`,
    '',
    '| System | Median msg/s | vs raw | Rounds |',
    '| --- | ---: | ---: | --- |',
    ...rows.map((r) => `| ${r.system} | ${Math.round(r.median)} | ${(r.median / rows[1]!.median).toFixed(2)} | ${r.rounds.join(', ')} |`),
    '',
    `factum / raw kafkajs: **${ratio.toFixed(2)}** (target >= 0.80: ${ratio >= 0.8 ? 'met' : 'NOT met'}).`,
    '',
    '@platformatic/kafka 1.35.0 was tried too and does not appear: it opens every connection with ApiVersions v3 and does not fall back when the mock (which answers v0 to v2) refuses it, so it cannot talk to the mock at all (it supports Kafka 3.5 and later).',
  ];
  console.log(lines.join('\n'));
  if (!quick) {
    await writeFile(path.join(here, 'results', 'kafka-publish.md'), `${lines.join('\n')}\n`);
    await writeFile(path.join(here, 'results', 'kafka-publish.json'), `${JSON.stringify({ messages: MESSAGES, batch: BATCH, rounds: ROUNDS, rows, ratio }, null, 2)}\n`);
  }
}

await main();
