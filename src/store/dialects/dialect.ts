import type { Expression, Kysely, RawBuilder } from 'kysely';
import type { Executor } from '../executor.js';
import type { Database } from '../schema.js';

/** The SQL dialects the metadata store runs on. */
export type DialectName = 'sqlite' | 'postgres';

/**
 * Column types that differ between the dialects, for migrations. Released migrations create
 * their tables with these: an existing entry must never change (that would change what a
 * released migration creates); a new need gets a new entry.
 */
export interface ColumnTypes {
  /** Epoch milliseconds (and durations in them): beyond 2^31, so 64-bit. */
  readonly time: 'bigint' | 'integer';
  /** Any other 64-bit integer (a metric step, a size). */
  readonly int64: 'bigint' | 'integer';
  /** A float64. */
  readonly double: 'double precision' | 'real';
  /** Raw bytes. */
  readonly bytes: 'bytea' | 'blob';
  /** A 64-bit primary key the database assigns in increasing order. */
  readonly serial: 'bigserial' | 'integer';
}

/** Where the store lives: a data directory (SQLite) or a database URL (PostgreSQL). */
export interface StoreTarget {
  dataDir: string;
  databaseUrl?: string | undefined;
}

/** An open connection (pool) to the store's database. */
export interface StoreConnection {
  readonly db: Kysely<Database>;
  /** Where it lives, without credentials, for logs. */
  readonly location: string;
  /**
   * Runs `fn` holding the cross-process migration lock, so that servers starting together on
   * one database migrate it once.
   */
  withMigrationLock(fn: () => Promise<void>): Promise<void>;
}

/**
 * What differs between SQLite and PostgreSQL, in one place (as Kysely's own dialects do):
 * domain code asks this object and never branches on the dialect's name.
 */
export interface StoreDialect {
  readonly name: DialectName;
  /** Opens the database as this dialect opens it (pragmas, pool, type parsers). */
  connect(target: StoreTarget): StoreConnection;
  readonly types: ColumnTypes;

  /** The placeholder of the `index`-th (1-based) bound parameter in hand-written SQL text. */
  parameter(index: number): string;

  /**
   * Case-sensitive LIKE, as MLflow means it: `%` and `_` wildcards, `\` escaping the next
   * character. (SQLite's LIKE ignores case, so it runs as GLOB there.)
   */
  like(column: Expression<unknown>, pattern: string): RawBuilder<boolean>;
  /** Case-insensitive LIKE (ASCII case on SQLite), with the same wildcards and `\` escapes. */
  ilike(column: Expression<unknown>, pattern: string): RawBuilder<boolean>;
  /** A text expression that compares and orders by bytes (SQLite's BINARY collation). */
  byteOrder(text: Expression<unknown>): RawBuilder<unknown>;
  /** A bound number as a float64 (so that it compares with integer columns as a float). */
  double(value: number): RawBuilder<number>;
  /**
   * A column as an expression the planner will not pick an index for: SQLite's unary `+`,
   * where its planner (without statistics) would otherwise choose a worse index. Unchanged on
   * PostgreSQL, whose planner needs no such hint.
   */
  unindexed(column: Expression<unknown>): RawBuilder<unknown>;

  /** Whether SELECT … FOR UPDATE locks rows (PostgreSQL). */
  readonly rowLocks: boolean;
  /**
   * The suffix that locks the rows a SELECT reads until the transaction ends: ` for update`
   * where there are row locks, nothing on SQLite, where a write transaction on the file
   * already excludes every other writer.
   */
  forUpdate(): RawBuilder<unknown>;

  /** Whether there are advisory locks (PostgreSQL). */
  readonly advisoryLocks: boolean;
  /**
   * Serialises the transaction `tx` with every other one taking the same `key`, until it
   * ends (pg_advisory_xact_lock). Nothing on SQLite: transactions on one file are already
   * serial. Idempotent within a transaction.
   */
  transactionLock(tx: Executor, key: number): Promise<void>;
}
