/**
 * Which real services the tests can reach. A test that needs an unreachable service is skipped
 * with the reason in its name; with FACTUM_REQUIRE_SERVICES=1 (set by CI) it fails instead.
 */
import { readFile } from 'node:fs/promises';
import net from 'node:net';

export const POSTGRES_URL = process.env.FACTUM_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REQUIRE_SERVICES = process.env.FACTUM_REQUIRE_SERVICES === '1';

export function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host, timeout: 1000 });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

/**
 * Resolves to undefined when the service answers, or to the reason it will be skipped.
 * Throws when services are required (CI), so a missing service fails the run.
 */
export async function serviceUnavailable(name: string, port: number): Promise<string | undefined> {
  if (await portOpen(port)) return undefined;
  const reason = `${name} not reachable on 127.0.0.1:${port} (run: bash scripts/services.sh)`;
  if (REQUIRE_SERVICES) throw new Error(`FACTUM_REQUIRE_SERVICES=1 and ${reason}`);
  return reason;
}

export const postgresUnavailable = (): Promise<string | undefined> => serviceUnavailable('PostgreSQL', 5432);

/** Where scripts/services.sh keeps the state of librdkafka's mock cluster (bootstrap address, pid). */
export const KAFKA_MOCK_DIR = process.env.FACTUM_KAFKA_MOCK_DIR ?? '/tmp/factum-kafka-mock';

/**
 * The Kafka mock cluster's bootstrap servers, or the reason its tests are skipped. The mock picks
 * its ports itself, so scripts/services.sh writes them to a file; `FACTUM_KAFKA_BROKERS` overrides.
 */
export async function kafkaBootstrap(): Promise<{ brokers: string[] } | { skip: string }> {
  const listed = process.env.FACTUM_KAFKA_BROKERS ?? (await readFile(`${KAFKA_MOCK_DIR}/bootstrap`, 'utf8').catch(() => ''));
  const brokers = listed.trim().split(',').filter(Boolean);
  const first = brokers[0]?.split(':');
  const port = Number(first?.[1]);
  if (first && port && (await portOpen(port, first[0]))) return { brokers };
  const reason = `the Kafka mock cluster is not running (${brokers.length ? `nothing answers on ${brokers[0]}` : `no ${KAFKA_MOCK_DIR}/bootstrap`}; run: bash scripts/services.sh)`;
  if (REQUIRE_SERVICES) throw new Error(`FACTUM_REQUIRE_SERVICES=1 and ${reason}`);
  return { skip: reason };
}
