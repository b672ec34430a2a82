import { type Kysely, sql } from 'kysely';
import { FalajError } from '../core/errors.js';
import type { DialectName, StoreDialect } from './dialects/dialect.js';
import { postgresDialect, redactUrl } from './dialects/postgres.js';
import { sqliteDialect } from './dialects/sqlite.js';
import type { Executor } from './executor.js';
import { orderedMigrations } from './migrations/index.js';
import type { Database } from './schema.js';

export type { DialectName, Executor, StoreDialect };
export { redactUrl };

/** The metadata store: one typed query layer over SQLite (embedded) or PostgreSQL (scaled out). */
export interface Store {
  readonly db: Kysely<Database>;
  /** What differs between the dialects; `dialect.name` says which one this is. */
  readonly dialect: StoreDialect;
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

export async function openStore(opts: StoreOptions): Promise<Store> {
  const dialect = opts.databaseUrl ? postgresDialect : sqliteDialect;
  const connection = dialect.connect(opts);
  const { db } = connection;
  const store: Store = {
    db,
    dialect,
    location: connection.location,
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      await db.destroy();
    },
  };
  try {
    await store.ping();
    if (opts.migrate !== false) await connection.withMigrationLock(() => applyPending(store));
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

/**
 * Applies pending migrations, each in its own transaction with its bookkeeping row, under the
 * dialect's cross-process migration lock. (Kysely's Migrator was dropped: it introspects every
 * schema of the database to find its tables, which fails when another schema is being dropped
 * at that moment and mistakes another schema's tables for ours.)
 */
async function applyPending(store: Store): Promise<void> {
  await sql`create table if not exists falaj_migrations (name text primary key, applied_at ${sql.raw(store.dialect.types.time)} not null)`.execute(
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
