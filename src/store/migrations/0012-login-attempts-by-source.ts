import { type Kysely, sql } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.js';

/**
 * Login failures counted per source address as well as per username (see
 * docs/login-throttling.md): a row per (username, source), where source '*' is the row that
 * counts every address and also holds the reservation of the one password check in flight
 * for that username (`reserved_by`, a random token, until `reserved_until`).
 *
 * The primary key changes, which SQLite can only do by building a new table. The old counts
 * are kept as the '*' rows, so an upgrade in the middle of a guessing run does not hand out a
 * fresh allowance; an old lock is not kept, because a '*' row slows down and never locks.
 */
export async function up(db: Kysely<unknown>, dialect: StoreDialect): Promise<void> {
  const { time } = dialect.types;
  await db.schema.alterTable('login_attempts').renameTo('login_attempts_0001').execute();
  await db.schema
    .createTable('login_attempts')
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('failures', 'integer', (c) => c.notNull())
    .addColumn('last_failure_at', time)
    .addColumn('locked_until', time)
    .addColumn('reserved_by', 'text')
    .addColumn('reserved_until', time)
    .addPrimaryKeyConstraint('login_attempts_by_source_pk', ['username', 'source'])
    .execute();
  await sql`insert into login_attempts (username, source, failures, last_failure_at)
    select username, '*', failures, last_failure_at from login_attempts_0001`.execute(db);
  await db.schema.dropTable('login_attempts_0001').execute();
}
