import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { type Expression, Kysely, SqliteDialect, sql } from 'kysely';
import type { Database } from '../schema.js';
import type { StoreConnection, StoreDialect, StoreTarget } from './dialect.js';

/** SQLite: one file in the data directory, in WAL mode, for a single server. */
export const sqliteDialect: StoreDialect = {
  name: 'sqlite',
  connect: connectSqlite,
  types: { time: 'integer', int64: 'integer', double: 'real', bytes: 'blob', serial: 'integer' },
  parameter: () => '?',
  like: (column: Expression<unknown>, pattern: string) => sql<boolean>`${column} glob ${likeToGlob(pattern)}`,
  ilike: (column: Expression<unknown>, pattern: string) =>
    sql<boolean>`${column} like ${pattern} escape '\\'`,
  // SQLite's default BINARY collation already compares bytes.
  byteOrder: (text: Expression<unknown>) => sql`${text}`,
  double: (value: number) => sql<number>`${value}`,
  unindexed: (column: Expression<unknown>) => sql`+${column}`,
  rowLocks: false,
  forUpdate: () => sql``,
  advisoryLocks: false,
  transactionLock: async () => {},
};

const globLiteral = (c: string): string => (c === '*' ? '[*]' : c === '?' ? '[?]' : c === '[' ? '[[]' : c);

/**
 * A LIKE pattern (`%`, `_`, backslash escapes) as the equivalent SQLite GLOB pattern, which is
 * what makes LIKE case-sensitive on SQLite: `*`, `?` and `[` in the value become one-character
 * classes, so only the pattern's own wildcards are wildcards. A lone trailing backslash stands
 * for itself.
 */
export function likeToGlob(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) out += globLiteral(pattern[++i]!);
    else if (c === '%') out += '*';
    else if (c === '_') out += '?';
    else out += globLiteral(c);
  }
  return out;
}

function connectSqlite(target: StoreTarget): StoreConnection {
  mkdirSync(target.dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(target.dataDir, 'falaj.db');
  const raw = new SqliteDatabase(file);
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  raw.pragma('foreign_keys = ON');
  raw.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: cachingStatements(raw) }) });
  return {
    db,
    location: file,
    withMigrationLock: (fn) => withSqliteLock(`${file}.migrate-lock`, fn),
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

/**
 * A cross-process mutex for SQLite migrations: an IMMEDIATE transaction on a small side
 * database beside the store's. It is tried without blocking and retried on a timer, because
 * better-sqlite3 waits synchronously and would otherwise stall the event loop of a process
 * holding the lock itself.
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
