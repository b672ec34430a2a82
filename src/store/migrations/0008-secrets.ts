import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.js';

/**
 * Project secrets (API keys, passwords a job needs): each value sealed under the keyring's
 * current key-encryption key, bound to its project and name; only names are ever listed.
 */
export async function up(db: Kysely<unknown>, dialect: StoreDialect): Promise<void> {
  const { time } = dialect.types;
  await db.schema
    .createTable('project_secrets')
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('sealed', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('updated_at', time, (c) => c.notNull())
    .addPrimaryKeyConstraint('project_secrets_pk', ['project_id', 'name'])
    .execute();
}
