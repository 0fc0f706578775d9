import pg from 'pg';

/** The server the benchmark runs on; the same variable as the tests use. */
export const SERVER_URL = process.env.FACTUM_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/**
 * A database of its own: Emmett and Castore create their tables in `public`, so all of it is
 * dropped afterwards. One per process, so that two runs at once (a developer's and CI's smoke
 * run) never drop each other's database.
 */
export const BENCH_DATABASE = `factum_bench_${process.pid}`;

export function benchUrl(database = BENCH_DATABASE): string {
  const url = new URL(SERVER_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Creates the benchmark database afresh; returns the reason when the server cannot be reached. */
export async function createBenchDatabase(database = BENCH_DATABASE): Promise<string | undefined> {
  const admin = new pg.Client({ connectionString: SERVER_URL, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
  } catch (error) {
    return `PostgreSQL unreachable at ${SERVER_URL}: ${(error as Error).message}`;
  }
  try {
    // Leftovers of runs that were killed: databases of this naming that nobody is connected to.
    const { rows } = await admin.query<{ datname: string }>(
      `SELECT datname FROM pg_database d WHERE datname LIKE 'factum\\_bench\\_%'
          AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datid = d.oid)`,
    );
    for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS "${datname}"`).catch(() => {});
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${database}`);
    return undefined;
  } finally {
    await admin.end();
  }
}

export async function dropBenchDatabase(database = BENCH_DATABASE): Promise<void> {
  const admin = new pg.Client({ connectionString: SERVER_URL });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/**
 * pg's type parsers as they are before any library changes them. Emmett's driver layer
 * (dumbo) replaces the process-wide parsers of int8 and json/jsonb (BigInt, JSON.parse with
 * a reviver); pools created with these keep factum and the raw driver on pg's defaults.
 */
const pristine = new Map<number, (value: string) => unknown>(
  [20, 114, 3802].map((oid) => [oid, pg.types.getTypeParser(oid, 'text') as (value: string) => unknown]),
);
const pristineTypes = {
  getTypeParser: (oid: number, format?: 'text' | 'binary') =>
    (format ?? 'text') === 'text' && pristine.has(oid) ? pristine.get(oid)! : pg.types.getTypeParser(oid, format as 'text'),
};

/** A pool on the benchmark database with pg's default parsers. */
export function benchPool(max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: benchUrl(), max, types: pristineTypes as pg.CustomTypesConfig });
  pool.on('error', () => {});
  return pool;
}
