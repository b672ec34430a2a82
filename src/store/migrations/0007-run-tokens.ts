import type { Kysely } from 'kysely';

/**
 * Run-scoped API tokens: the token a job's process gets writes only to the job's tracking run
 * (and runs nested under it); it still reads what its project's role allows.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('api_tokens').addColumn('run_id', 'text').execute();
}
