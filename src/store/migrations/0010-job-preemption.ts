import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.js';

/**
 * When the scheduler asked a job's attempt to stop so that another job gets its capacity. Kept
 * in the database, not in the scheduler's memory: a server restarted during the grace period
 * must still requeue the job when the attempt ends (not record a cancel), and must not count
 * its capacity twice meanwhile.
 */
export async function up(db: Kysely<unknown>, dialect: StoreDialect): Promise<void> {
  const { time } = dialect.types;
  await db.schema.alterTable('jobs').addColumn('preempt_requested_at', time).execute();
}
