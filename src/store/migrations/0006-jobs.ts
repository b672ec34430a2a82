import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.js';

/**
 * Compute jobs: queues (their quota configuration as JSON, validated by src/jobs/scheduler),
 * jobs with their spec, state and current attempt, every state transition as an event, and
 * named leases so that exactly one server schedules when several share a database.
 */
export async function up(db: Kysely<unknown>, dialect: StoreDialect): Promise<void> {
  const { time, serial } = dialect.types;
  await db.schema
    .createTable('queues')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('config', 'text', (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('updated_at', time, (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('jobs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('queue', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('spec', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('priority', 'integer', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('run_id', 'text')
    .addColumn('executor', 'text')
    .addColumn('external_id', 'text')
    .addColumn('placements', 'text')
    .addColumn('reason', 'text')
    .addColumn('exit_code', 'integer')
    .addColumn('submitted_by', 'text', (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('updated_at', time, (c) => c.notNull())
    .addColumn('started_at', time)
    .addColumn('ended_at', time)
    .addColumn('not_before', time)
    .addColumn('cancel_requested_at', time)
    .execute();
  await db.schema.createIndex('jobs_state_queue').on('jobs').columns(['state', 'queue']).execute();
  await db.schema
    .createIndex('jobs_project_created')
    .on('jobs')
    .columns(['project_id', 'created_at'])
    .execute();
  await db.schema
    .createTable('job_events')
    .addColumn('id', serial, (c) => c.primaryKey())
    .addColumn('job_id', 'text', (c) => c.notNull().references('jobs.id').onDelete('cascade'))
    .addColumn('at', time, (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('from_state', 'text')
    .addColumn('to_state', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .execute();
  await db.schema.createIndex('job_events_job').on('job_events').columns(['job_id', 'id']).execute();
  await db.schema
    .createTable('leases')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('expires_at', time, (c) => c.notNull())
    .execute();
}
