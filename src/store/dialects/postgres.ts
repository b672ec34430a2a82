import { type Expression, Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Executor } from '../executor.js';
import type { Database } from '../schema.js';
import type { StoreConnection, StoreDialect, StoreTarget } from './dialect.js';

/** PostgreSQL: a shared database for several servers. */
export const postgresDialect: StoreDialect = {
  name: 'postgres',
  connect: connectPostgres,
  types: { time: 'bigint', int64: 'bigint', double: 'double precision', bytes: 'bytea', serial: 'bigserial' },
  parameter: (index: number) => `$${index}`,
  like: (column: Expression<unknown>, pattern: string) => sql<boolean>`${column} like ${pattern}`,
  ilike: (column: Expression<unknown>, pattern: string) => sql<boolean>`${column} ilike ${pattern}`,
  // Byte order for text, the order SQLite's BINARY collation gives.
  byteOrder: (text: Expression<unknown>) => sql`${text} collate "C"`,
  double: (value: number) => sql<number>`cast(${value} as double precision)`,
  unindexed: (column: Expression<unknown>) => sql`${column}`,
  rowLocks: true,
  forUpdate: () => sql` for update`,
  advisoryLocks: true,
  async transactionLock(tx: Executor, key: number): Promise<void> {
    await sql`select pg_advisory_xact_lock(${key})`.execute(tx);
  },
};

// A fixed key for the advisory lock held while migrating ("falaj" in ASCII).
const MIGRATION_LOCK_KEY = 0x66616c616a;

/** node-postgres returns BIGINT as strings; every BIGINT here is a time or a size well below 2^53. */
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
};

function connectPostgres(target: StoreTarget): StoreConnection {
  const url = target.databaseUrl;
  if (!url) throw new Error('a PostgreSQL store needs a database URL');
  const pool = new pg.Pool({ connectionString: url, max: 10, types: pgTypes as pg.CustomTypesConfig });
  // An idle client losing its connection must not crash the server; the next query reconnects.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    location: redactUrl(url),
    withMigrationLock: (fn) => withAdvisoryLock(url, fn),
  };
}

/** A session-level advisory lock held on a connection of its own while `fn` runs. */
async function withAdvisoryLock(url: string, fn: () => Promise<void>): Promise<void> {
  const lockClient = new pg.Client({ connectionString: url });
  await lockClient.connect();
  try {
    await lockClient.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await fn();
  } finally {
    await lockClient.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
    await lockClient.end().catch(() => {});
  }
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparseable url)';
  }
}
