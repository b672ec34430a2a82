import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.js';

/**
 * Evaluations run as jobs (`falaj models evaluate --submit`, src/registry/staging/).
 *
 * A request is written when the job is submitted, with the checked and resolved request (data
 * version pinned, target named) and the job and run it belongs to. Only the job's run-scoped
 * token may post its result, once: the row goes from `pending` to `done` (or `failed`) by a
 * conditional update, in the transaction that stores the evaluation.
 */
export async function up(db: Kysely<unknown>, dialect: StoreDialect): Promise<void> {
  const { time } = dialect.types;
  await db.schema
    .createTable('evaluation_requests')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('version_id', 'text', (c) => c.notNull().references('model_versions.id').onDelete('cascade'))
    .addColumn('job_id', 'text', (c) => c.notNull())
    .addColumn('run_id', 'text', (c) => c.notNull())
    // JSON: the resolved request (dataset NAME@N, target, sensitive, slices, options).
    .addColumn('request', 'text', (c) => c.notNull())
    .addColumn('data_version_id', 'text')
    // 'pending' | 'done' | 'failed'
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('evaluation_id', 'text')
    .addColumn('error', 'text')
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('ended_at', time)
    .execute();
  await db.schema
    .createIndex('evaluation_requests_version')
    .on('evaluation_requests')
    .columns(['version_id', 'created_at'])
    .execute();
  await db.schema.createIndex('evaluation_requests_job').on('evaluation_requests').column('job_id').execute();
}
