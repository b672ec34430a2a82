import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.js';

/**
 * Agent tokens: the credential `falaj agent` runs with. An owner mints one per machine (or
 * pool); it may only register agents and speak the agent protocol for the agents it
 * registered, never call the rest of the API, and it does not expire with a session.
 * `agents.token_id` names the token that registered an agent (null: an owner's session).
 *
 * Agent log chunks: what an agent's running attempt has written so far, shipped as it is
 * written so that `falaj jobs logs -f` follows it live; replaced by the whole log (an artifact)
 * when the attempt ends.
 */
export async function up(db: Kysely<unknown>, dialect: StoreDialect): Promise<void> {
  const { time } = dialect.types;
  await db.schema
    .createTable('agent_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('expires_at', time)
    .addColumn('revoked_at', time)
    .addColumn('last_used_at', time)
    .execute();
  await db.schema.alterTable('agents').addColumn('token_id', 'text').execute();
  await db.schema
    .createTable('agent_log_chunks')
    .addColumn('external_id', 'text', (c) => c.notNull())
    .addColumn('offset', 'bigint', (c) => c.notNull())
    .addColumn('data', dialect.types.bytes, (c) => c.notNull())
    .addPrimaryKeyConstraint('agent_log_chunks_pk', ['external_id', 'offset'])
    .execute();
}
