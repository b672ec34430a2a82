import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.js';

/**
 * Experiment tracking (MLflow's model): experiments and runs under a project, with params,
 * tags, metric history, the latest value of each metric (what search and order_by read), and
 * dataset inputs. Metric values are REAL/DOUBLE; NaN is stored as `is_nan = 1` with a NULL
 * value because SQLite turns NaN into NULL (±Infinity are stored as such on both dialects).
 */
export async function up(db: Kysely<unknown>, dialect: StoreDialect): Promise<void> {
  const { time } = dialect.types;

  // Tables that must keep identical columns (they share one row type in schema.ts) are built
  // by one function each, so they cannot drift apart.
  const keyValueTable = (table: string, owner: string, references: string) =>
    db.schema
      .createTable(table)
      .addColumn(owner, 'text', (c) => c.notNull().references(references).onDelete('cascade'))
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('value', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint(`${table}_pk`, [owner, 'key']);
  const metricTable = (table: string) =>
    db.schema
      .createTable(table)
      .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id').onDelete('cascade'))
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('step', time, (c) => c.notNull())
      .addColumn('timestamp', time, (c) => c.notNull())
      .addColumn('value', dialect.types.double)
      .addColumn('is_nan', 'integer', (c) => c.notNull().defaultTo(0));

  await db.schema
    .createTable('experiments')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('artifact_location', 'text', (c) => c.notNull())
    .addColumn('lifecycle_stage', 'text', (c) => c.notNull())
    .addColumn('creation_time', time, (c) => c.notNull())
    .addColumn('last_update_time', time, (c) => c.notNull())
    .addUniqueConstraint('experiments_project_name', ['project_id', 'name'])
    .execute();

  await keyValueTable('experiment_tags', 'experiment_id', 'experiments.id').execute();

  await db.schema
    .createTable('runs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('experiment_id', 'text', (c) => c.notNull().references('experiments.id').onDelete('cascade'))
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('start_time', time, (c) => c.notNull())
    .addColumn('end_time', time)
    .addColumn('lifecycle_stage', 'text', (c) => c.notNull())
    .addColumn('artifact_uri', 'text', (c) => c.notNull())
    .addColumn('parent_run_id', 'text')
    .addColumn('deleted_time', time)
    .execute();
  await db.schema
    .createIndex('runs_experiment_start')
    .on('runs')
    .columns(['experiment_id', 'start_time'])
    .execute();
  await db.schema.createIndex('runs_parent').on('runs').column('parent_run_id').execute();

  await keyValueTable('params', 'run_id', 'runs.id').execute();
  await db.schema.createIndex('params_key_value').on('params').columns(['key', 'value']).execute();
  // Run search reads each param clause's run ids from this index alone (covering); the same
  // for tags and metrics below. See src/tracking/search/compile.ts.
  await db.schema
    .createIndex('params_key_value_run')
    .on('params')
    .columns(['key', 'value', 'run_id'])
    .execute();

  await keyValueTable('run_tags', 'run_id', 'runs.id').execute();
  await db.schema
    .createIndex('run_tags_key_value_run')
    .on('run_tags')
    .columns(['key', 'value', 'run_id'])
    .execute();

  // The full history: append-only, several values may share a (key, step, timestamp).
  await metricTable('metrics').execute();
  await db.schema
    .createIndex('metrics_run_key_step')
    .on('metrics')
    .columns(['run_id', 'key', 'step', 'timestamp'])
    .execute();

  // MLflow's "latest" value per key: the greatest step, then the greatest timestamp.
  await metricTable('latest_metrics')
    .addPrimaryKeyConstraint('latest_metrics_pk', ['run_id', 'key'])
    .execute();
  await db.schema
    .createIndex('latest_metrics_key_value')
    .on('latest_metrics')
    .columns(['key', 'value'])
    .execute();
  await db.schema
    .createIndex('latest_metrics_key_value_run')
    .on('latest_metrics')
    .columns(['key', 'value', 'run_id'])
    .execute();

  await db.schema
    .createTable('datasets')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('experiment_id', 'text', (c) => c.notNull().references('experiments.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('source_type', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('schema', 'text')
    .addColumn('profile', 'text')
    .addUniqueConstraint('datasets_experiment_name_digest', ['experiment_id', 'name', 'digest'])
    .execute();

  await db.schema
    .createTable('run_inputs')
    .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id').onDelete('cascade'))
    .addColumn('dataset_id', 'text', (c) => c.notNull().references('datasets.id').onDelete('cascade'))
    .addColumn('tags', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('run_inputs_pk', ['run_id', 'dataset_id'])
    .execute();
}
