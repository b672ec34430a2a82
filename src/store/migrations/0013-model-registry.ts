import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.js';

/**
 * The model registry (src/registry/) and the lineage graph (src/lineage/).
 *
 * - Registered models are per project (MLflow's are per server; Falaj scopes them as it scopes
 *   experiments). Versions are numbered per model from 1; an alias names one version.
 * - Evaluations, gate runs and promotion requests are append-only records of a version's way
 *   to a protected alias; gate policies are kept as revisions, never edited in place.
 * - Webhooks deliver registry events; each delivery is a row, so nothing acknowledged is lost
 *   when the server stops between the event and the POST.
 * - Lineage edges link any two things the platform knows (dataset version → run → model
 *   version → deployment), each with its own attributes (a digest).
 * JSON columns are read whole and never queried inside.
 */
export async function up(db: Kysely<unknown>, dialect: StoreDialect): Promise<void> {
  const { time } = dialect.types;

  await db.schema
    .createTable('registered_models')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    // JSON array of alias names that need a promotion request and an approval.
    .addColumn('protected_aliases', 'text', (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('updated_at', time, (c) => c.notNull())
    .addUniqueConstraint('registered_models_project_name', ['project_id', 'name'])
    .execute();

  await db.schema
    .createTable('registered_model_tags')
    .addColumn('model_id', 'text', (c) => c.notNull().references('registered_models.id').onDelete('cascade'))
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('registered_model_tags_pk', ['model_id', 'key'])
    .execute();

  await db.schema
    .createTable('model_versions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('model_id', 'text', (c) => c.notNull().references('registered_models.id').onDelete('cascade'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('run_id', 'text')
    .addColumn('run_link', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('status_message', 'text', (c) => c.notNull())
    // MLflow's deprecated stage, kept for old clients: 'None' | 'Staging' | 'Production' | 'Archived'.
    .addColumn('stage', 'text', (c) => c.notNull())
    // Where the version's files are: an artifact-store prefix (the run's model folder or an upload).
    .addColumn('artifact_path', 'text', (c) => c.notNull())
    // 'falaj' (a native model directory with model.onnx) or 'onnx' (an uploaded ONNX graph).
    .addColumn('format', 'text', (c) => c.notNull())
    // JSON {inputs:[{name,type,shape}], outputs:[...]}: the model's input schema.
    .addColumn('signature', 'text')
    // JSON {intended_use?, limitations?}: the optional hand-written parts of the model card.
    .addColumn('card', 'text')
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('updated_at', time, (c) => c.notNull())
    // Two concurrent registrations cannot both take the same number: the second insert fails.
    .addUniqueConstraint('model_versions_model_version', ['model_id', 'version'])
    .execute();
  await db.schema.createIndex('model_versions_run').on('model_versions').column('run_id').execute();

  await db.schema
    .createTable('model_version_tags')
    .addColumn('version_id', 'text', (c) => c.notNull().references('model_versions.id').onDelete('cascade'))
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('model_version_tags_pk', ['version_id', 'key'])
    .execute();

  await db.schema
    .createTable('model_aliases')
    .addColumn('model_id', 'text', (c) => c.notNull().references('registered_models.id').onDelete('cascade'))
    .addColumn('alias', 'text', (c) => c.notNull())
    .addColumn('version_id', 'text', (c) => c.notNull().references('model_versions.id').onDelete('cascade'))
    .addColumn('updated_at', time, (c) => c.notNull())
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('model_aliases_pk', ['model_id', 'alias'])
    .execute();

  await db.schema
    .createTable('model_evaluations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('version_id', 'text', (c) => c.notNull().references('model_versions.id').onDelete('cascade'))
    // 'dataset' (a dataset version), 'file' (an uploaded file) or 'cv' (the trainer's own CV).
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('data_version_id', 'text')
    .addColumn('data_digest', 'text')
    .addColumn('row_count', time)
    // JSON: {metrics, slices, fairness, task, target, sensitive}.
    .addColumn('result', 'text', (c) => c.notNull())
    .addColumn('job_id', 'text')
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('model_evaluations_version')
    .on('model_evaluations')
    .columns(['version_id', 'created_at'])
    .execute();

  await db.schema
    .createTable('gate_policies')
    .addColumn('model_id', 'text', (c) => c.notNull().references('registered_models.id').onDelete('cascade'))
    .addColumn('revision', 'integer', (c) => c.notNull())
    // JSON: the parsed policy (the YAML or JSON the user gave is kept in `source`).
    .addColumn('policy', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('gate_policies_pk', ['model_id', 'revision'])
    .execute();

  await db.schema
    .createTable('gate_runs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('version_id', 'text', (c) => c.notNull().references('model_versions.id').onDelete('cascade'))
    .addColumn('policy_revision', 'integer')
    .addColumn('passed', 'integer', (c) => c.notNull())
    // JSON array: {name, kind, value, threshold, op, passed, detail}.
    .addColumn('checks', 'text', (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('gate_runs_version')
    .on('gate_runs')
    .columns(['version_id', 'created_at'])
    .execute();

  await db.schema
    .createTable('promotion_requests')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('model_id', 'text', (c) => c.notNull().references('registered_models.id').onDelete('cascade'))
    .addColumn('version_id', 'text', (c) => c.notNull().references('model_versions.id').onDelete('cascade'))
    .addColumn('alias', 'text', (c) => c.notNull())
    // 'pending' | 'approved' | 'rejected' | 'cancelled'
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('requested_by', 'text', (c) => c.notNull())
    .addColumn('requested_at', time, (c) => c.notNull())
    .addColumn('note', 'text', (c) => c.notNull())
    .addColumn('gate_run_id', 'text')
    .addColumn('decided_by', 'text')
    .addColumn('decided_at', time)
    .addColumn('decision_reason', 'text')
    // A failed gate overridden by a project admin, with the written reason.
    .addColumn('override_by', 'text')
    .addColumn('override_reason', 'text')
    .execute();
  await db.schema
    .createIndex('promotion_requests_model')
    .on('promotion_requests')
    .columns(['model_id', 'requested_at'])
    .execute();

  await db.schema
    .createTable('webhooks')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('url', 'text', (c) => c.notNull())
    // JSON array of event names.
    .addColumn('events', 'text', (c) => c.notNull())
    // The HMAC key, sealed by the keyring (never stored or returned in the clear).
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('active', 'integer', (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('webhook_id', 'text', (c) => c.notNull().references('webhooks.id').onDelete('cascade'))
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    // 'pending' | 'delivered' | 'failed' (gave up after the last attempt)
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('next_attempt_at', time, (c) => c.notNull())
    .addColumn('last_status', 'integer')
    .addColumn('last_error', 'text')
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('delivered_at', time)
    .execute();
  await db.schema
    .createIndex('webhook_deliveries_due')
    .on('webhook_deliveries')
    .columns(['state', 'next_attempt_at'])
    .execute();

  await db.schema
    .createTable('lineage_edges')
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    // Node kinds: 'dataset_version', 'run', 'job', 'code', 'model_version', 'deployment', 'file'.
    .addColumn('from_kind', 'text', (c) => c.notNull())
    .addColumn('from_id', 'text', (c) => c.notNull())
    .addColumn('to_kind', 'text', (c) => c.notNull())
    .addColumn('to_id', 'text', (c) => c.notNull())
    // What the edge means: 'input', 'ran', 'produced', 'registered', 'evaluated', 'deployed'.
    .addColumn('relation', 'text', (c) => c.notNull())
    // JSON: what the edge carries (a digest, a row count, a path).
    .addColumn('attrs', 'text', (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .addPrimaryKeyConstraint('lineage_edges_pk', ['from_kind', 'from_id', 'to_kind', 'to_id', 'relation'])
    .execute();
  await db.schema.createIndex('lineage_edges_to').on('lineage_edges').columns(['to_kind', 'to_id']).execute();
}
