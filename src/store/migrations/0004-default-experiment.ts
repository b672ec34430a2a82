import { type Kysely, sql } from 'kysely';

/**
 * MLflow's experiment "0": every MLflow store has a "Default" experiment with id 0, and
 * `mlflow.start_run()` without an experiment logs there. Each Falaj project gets its own,
 * created on first use and marked here (it may be renamed, as in MLflow, so the name cannot
 * mark it). At most one per project.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('experiments')
    .addColumn('is_default', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .createIndex('experiments_one_default')
    .on('experiments')
    .column('project_id')
    .unique()
    .where(sql.ref('is_default'), '=', 1)
    .execute();
}
