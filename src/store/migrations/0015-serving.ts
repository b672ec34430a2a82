import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.js';

/**
 * Serving (src/serving/): deployments and their revisions, the replicas that report readiness,
 * the request log's Parquet files and the labels that arrive later, and deployment-scoped
 * invoke tokens.
 *
 * A deployment's configuration lives in its revisions (one row per change, never edited), so
 * that a rollback is a new revision copying an older one. The deployment row holds the current
 * revision number and what its hosts report (state, reason, the versions actually serving).
 */
export async function up(db: Kysely<unknown>, dialect: StoreDialect): Promise<void> {
  const { time, int64 } = dialect.types;
  await db.schema
    .createTable('deployments')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('revision', 'integer', (c) => c.notNull())
    // 1: callable without a token (only a project admin sets it, audited).
    .addColumn('public', 'integer', (c) => c.notNull())
    // 'loading' | 'ready' | 'degraded' | 'failed': what the hosts last reported.
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('state_reason', 'text', (c) => c.notNull())
    // JSON: the versions serving now per variant ({primary: {model, version}, canary?, shadow?}).
    .addColumn('serving', 'text')
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('updated_at', time, (c) => c.notNull())
    .addUniqueConstraint('deployments_project_name', ['project_id', 'name'])
    .execute();
  await db.schema
    .createTable('deployment_revisions')
    .addColumn('deployment_id', 'text', (c) => c.notNull().references('deployments.id').onDelete('cascade'))
    .addColumn('revision', 'integer', (c) => c.notNull())
    // JSON: the deployment's spec (model, canary, shadow, auto-rollback, request log policy).
    .addColumn('spec', 'text', (c) => c.notNull())
    // 'create' | 'update' | 'rollback' | 'auto-rollback' | 'promote-canary'
    .addColumn('reason', 'text', (c) => c.notNull())
    // JSON: what caused it (the numbers of an automatic rollback), or null.
    .addColumn('details', 'text')
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('deployment_revisions_pk', ['deployment_id', 'revision'])
    .execute();
  await db.schema
    .createTable('serving_replicas')
    .addColumn('replica_id', 'text', (c) => c.notNull())
    .addColumn('deployment_id', 'text', (c) => c.notNull().references('deployments.id').onDelete('cascade'))
    .addColumn('url', 'text', (c) => c.notNull())
    // The replica's own random key: a server sends it with each request it forwards (the caller
    // was authorised by the server), so callers' tokens never travel to a replica.
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('ready', 'integer', (c) => c.notNull())
    .addColumn('revision', 'integer', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('started_at', time, (c) => c.notNull())
    .addColumn('last_seen', time, (c) => c.notNull())
    .addPrimaryKeyConstraint('serving_replicas_pk', ['replica_id', 'deployment_id'])
    .execute();
  await db.schema
    .createTable('serving_log_files')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('deployment_id', 'text', (c) => c.notNull())
    // Epoch ms of the start of the hour the file's requests fall in (the partition).
    .addColumn('hour', time, (c) => c.notNull())
    // The Parquet file's blob (sealed like every artifact) and its artifact path.
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('rows', int64, (c) => c.notNull())
    .addColumn('bytes', int64, (c) => c.notNull())
    .addColumn('first_at', time, (c) => c.notNull())
    .addColumn('last_at', time, (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('serving_log_files_hour')
    .on('serving_log_files')
    .columns(['deployment_id', 'hour'])
    .execute();
  await db.schema
    .createTable('serving_labels')
    .addColumn('deployment_id', 'text', (c) => c.notNull())
    .addColumn('request_id', 'text', (c) => c.notNull())
    // The row of the request the label is for (0 for a one-row request).
    .addColumn('row', 'integer', (c) => c.notNull())
    // JSON: the ground truth (a class label or a number).
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('received_at', time, (c) => c.notNull())
    .addColumn('received_by', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('serving_labels_pk', ['deployment_id', 'request_id', 'row'])
    .execute();
  // An invoke token (role 'invoke') may be bound to one deployment of its project, by name.
  await db.schema.alterTable('api_tokens').addColumn('deployment', 'text').execute();
}
