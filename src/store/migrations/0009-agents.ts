import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.js';

/**
 * Agents (`falaj agent` on other machines) and the attempts assigned to them. An agent's lease is
 * renewed by each heartbeat; once it lapses, the agent's unfinished attempts read as lost. The
 * launch request (with the attempt's FALAJ_TOKEN) is stored sealed under the keyring.
 */
export async function up(db: Kysely<unknown>, dialect: StoreDialect): Promise<void> {
  const { time } = dialect.types;
  await db.schema
    .createTable('agents')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('capacity', 'text', (c) => c.notNull())
    .addColumn('lease_expires_at', time, (c) => c.notNull())
    .addColumn('last_seen_at', time, (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('agent_attempts')
    .addColumn('external_id', 'text', (c) => c.primaryKey())
    .addColumn('agent_id', 'text', (c) => c.notNull())
    .addColumn('job_id', 'text', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('request', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('exit_code', 'integer')
    .addColumn('signal', 'text')
    .addColumn('reason', 'text')
    .addColumn('cancel_requested', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('cancel_grace_seconds', 'integer')
    .addColumn('log_digest', 'text')
    .addColumn('updated_at', time, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('agent_attempts_agent').on('agent_attempts').column('agent_id').execute();
}
