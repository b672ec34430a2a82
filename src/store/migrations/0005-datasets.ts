import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.js';

/**
 * Datasets (src/data/): a project's named datasets, their immutable versions (Parquet in the
 * artifact store, addressed by the SHA-256 of its bytes), column tags (PII and free-form, kept
 * per dataset so they carry to later versions) and validation results. Named `data_*` because
 * `datasets` already holds MLflow's run inputs (0002-tracking). Schemas, profiles, suites and
 * results are JSON text: they are read whole and never queried inside.
 */
export async function up(db: Kysely<unknown>, dialect: StoreDialect): Promise<void> {
  const { time } = dialect.types;

  await db.schema
    .createTable('data_datasets')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('suite', 'text')
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addUniqueConstraint('data_datasets_project_name', ['project_id', 'name'])
    .execute();

  await db.schema
    .createTable('data_versions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('dataset_id', 'text', (c) => c.notNull().references('data_datasets.id').onDelete('cascade'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('size', time, (c) => c.notNull())
    .addColumn('row_count', time, (c) => c.notNull())
    .addColumn('schema', 'text', (c) => c.notNull())
    .addColumn('schema_diff', 'text')
    .addColumn('profile', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('parent_version', 'integer')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('override', 'text')
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    // Two concurrent uploads cannot both take the same number: the second insert fails.
    .addUniqueConstraint('data_versions_dataset_version', ['dataset_id', 'version'])
    .execute();

  await db.schema
    .createTable('data_column_tags')
    .addColumn('dataset_id', 'text', (c) => c.notNull().references('data_datasets.id').onDelete('cascade'))
    .addColumn('column_name', 'text', (c) => c.notNull())
    .addColumn('tags', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('updated_at', time, (c) => c.notNull())
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('data_column_tags_pk', ['dataset_id', 'column_name'])
    .execute();

  await db.schema
    .createTable('data_validations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('version_id', 'text', (c) => c.notNull().references('data_versions.id').onDelete('cascade'))
    .addColumn('suite', 'text', (c) => c.notNull())
    .addColumn('result', 'text', (c) => c.notNull())
    .addColumn('success', 'integer', (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('data_validations_version')
    .on('data_validations')
    .columns(['version_id', 'created_at'])
    .execute();
}
