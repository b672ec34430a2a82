import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { FalajError } from '../core/errors.js';
import type { Dialect } from './dialect.js';
import { orderedMigrations } from './migrations/index.js';
import type { Database } from './schema.js';

export type { Dialect };

/** The metadata store: one typed query layer over SQLite (embedded) or PostgreSQL (scaled out). */
export interface Store {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
  /** Where it lives, without credentials, for logs. */
  readonly location: string;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface StoreOptions {
  dataDir: string;
  databaseUrl?: string | undefined;
  /** Run pending migrations (the server does; `audit verify` reads only). */
  migrate?: boolean;
}

// A fixed key for the PostgreSQL advisory lock held while migrating ("falaj" in ASCII).
const MIGRATION_LOCK_KEY = 0x66616c616a;

export async function openStore(opts: StoreOptions): Promise<Store> {
  const store = opts.databaseUrl ? openPostgres(opts.databaseUrl) : openSqlite(opts.dataDir);
  try {
    await store.ping();
    if (opts.migrate !== false) await migrate(store, opts.databaseUrl);
  } catch (err) {
    await store.close().catch(() => {});
    if (err instanceof FalajError) throw err;
    throw new FalajError(
      'FALAJ_STORE_UNAVAILABLE',
      `cannot open the store at ${store.location}: ${String(err)}`,
    );
  }
  return store;
}

function openSqlite(dataDir: string): Store {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, 'falaj.db');
  const raw = new SqliteDatabase(file);
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  raw.pragma('foreign_keys = ON');
  raw.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: cachingStatements(raw) }) });
  return {
    db,
    dialect: 'sqlite',
    location: file,
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      await db.destroy();
    },
  };
}

const STATEMENT_CACHE_SIZE = 500;

/**
 * Kysely prepares every SQLite statement anew, and preparing cost more than running the query
 * in the request profile; this keeps the last few hundred prepared statements by SQL text.
 * Reusing a statement is safe here: Kysely runs one query at a time per connection, and
 * SQLite re-prepares a statement by itself when the schema changes.
 */
function cachingStatements(raw: SqliteDatabase.Database) {
  const cache = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => raw.close(),
    prepare(text: string): SqliteDatabase.Statement {
      let stmt = cache.get(text);
      if (stmt) {
        // Refresh its place: the Map's insertion order is the eviction order.
        cache.delete(text);
      } else {
        stmt = raw.prepare(text);
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
      }
      cache.set(text, stmt);
      return stmt;
    },
  };
}

/** node-postgres returns BIGINT as strings; every BIGINT here is a time or a size well below 2^53. */
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
};

function openPostgres(url: string): Store {
  const pool = new pg.Pool({ connectionString: url, max: 10, types: pgTypes as pg.CustomTypesConfig });
  // An idle client losing its connection must not crash the server; the next query reconnects.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    dialect: 'postgres',
    location: redactUrl(url),
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      await db.destroy();
    },
  };
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

/**
 * Applies pending migrations, each in its own transaction with its bookkeeping row, under a
 * cross-process lock: a PostgreSQL session-level advisory lock held on its own connection, or
 * a lock file beside the SQLite database. (Kysely's Migrator was dropped: it introspects every
 * schema of the database to find its tables, which fails when another schema is being dropped
 * at that moment and mistakes another schema's tables for ours.)
 */
async function migrate(store: Store, databaseUrl: string | undefined): Promise<void> {
  if (store.dialect === 'sqlite') {
    await withSqliteLock(`${store.location}.migrate-lock`, () => applyPending(store));
    return;
  }
  const lockClient = new pg.Client({ connectionString: databaseUrl });
  await lockClient.connect();
  try {
    await lockClient.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await applyPending(store);
  } finally {
    await lockClient.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
    await lockClient.end().catch(() => {});
  }
}

async function applyPending(store: Store): Promise<void> {
  const time = store.dialect === 'postgres' ? 'bigint' : 'integer';
  await sql`create table if not exists falaj_migrations (name text primary key, applied_at ${sql.raw(time)} not null)`.execute(
    store.db,
  );
  const applied = new Set(
    (await store.db.selectFrom('falaj_migrations').select('name').execute()).map((r) => r.name),
  );
  for (const [name, migration] of orderedMigrations()) {
    if (applied.has(name)) continue;
    await store.db.transaction().execute(async (tx) => {
      await migration.up(tx as unknown as Kysely<unknown>, store.dialect);
      await tx.insertInto('falaj_migrations').values({ name, applied_at: Date.now() }).execute();
    });
  }
}

/**
 * A cross-process mutex for SQLite migrations: an IMMEDIATE transaction on a small side
 * database. It is tried without blocking and retried on a timer, because better-sqlite3 waits
 * synchronously and would otherwise stall the event loop of a process holding the lock itself.
 */
async function withSqliteLock(file: string, fn: () => Promise<void>): Promise<void> {
  const lock = new SqliteDatabase(file);
  lock.pragma('busy_timeout = 0');
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        lock.exec('BEGIN IMMEDIATE');
        break;
      } catch (err) {
        if ((err as { code?: string }).code !== 'SQLITE_BUSY' || attempt > 3000) throw err;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    try {
      await fn();
    } finally {
      lock.exec('ROLLBACK');
    }
  } finally {
    lock.close();
  }
}
