// Every broker's client is an optional peer: without it, a copy of the sources that finds no
// node_modules gets DRIVER_MISSING, saying what to install.
import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';

const run = promisify(execFile);
const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

const BROKERS = [
  { broker: 'RabbitMQ', client: 'amqplib', fixture: 'open-rabbitmq-without-amqplib.ts' },
  { broker: 'Kafka', client: 'kafkajs', fixture: 'open-kafka-without-kafkajs.ts' },
  { broker: 'NATS', client: '@nats-io/transport-node', fixture: 'open-nats-without-client.ts' },
  { broker: 'Redis', client: 'ioredis', fixture: 'open-redis-without-ioredis.ts' },
];

for (const { broker, client, fixture: name } of BROKERS) {
  it(`opening the ${broker} broker without ${client} is DRIVER_MISSING saying what to install`, async () => {
    const dir = await mkdtemp(join(tmpdir(), `factum-no-${broker.toLowerCase()}-client-`));
    dirs.push(dir);
    await cp(resolve('src'), join(dir, 'src'), { recursive: true });
    const fixture = `test/transport/workers/${name}`;
    await cp(resolve(fixture), join(dir, fixture));
    await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    const tsx = pathToFileURL(resolve('node_modules/tsx/dist/loader.mjs')).href;
    const { stdout } = await run(process.execPath, ['--import', tsx, fixture], { cwd: dir, timeout: 60_000 });
    const result = JSON.parse(stdout.trim()) as Record<string, string>;
    expect(result).toMatchObject({ code: 'DRIVER_MISSING', causeCode: 'ERR_MODULE_NOT_FOUND' });
    expect(result.message).toContain(`npm install ${client}`);
  });
}
