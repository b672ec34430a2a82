// The `agent_tokens` table: the credentials `falaj agent` runs with, minted and revoked by the
// owner (./agent-admin-routes.ts); a token's check on a request is security/auth/identity.ts.
import { newId } from '../../../core/ids.js';
import type { Executor } from '../../../store/executor.js';

/** Stores a new agent token (its hash only); returns its id. */
export async function createAgentToken(
  tx: Executor,
  t: { name: string; tokenHash: string; createdBy: string; now: number; expiresAt: number | null },
): Promise<string> {
  const id = newId();
  await tx
    .insertInto('agent_tokens')
    .values({
      id,
      name: t.name,
      token_hash: t.tokenHash,
      created_by: t.createdBy,
      created_at: t.now,
      expires_at: t.expiresAt,
      revoked_at: null,
      last_used_at: null,
    })
    .execute();
  return id;
}

/** Every agent token, newest first; the hash is never selected. */
export async function listAgentTokens(db: Executor) {
  return db
    .selectFrom('agent_tokens')
    .select(['id', 'name', 'created_by', 'created_at', 'expires_at', 'revoked_at', 'last_used_at'])
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .execute();
}

/**
 * Revokes the token (if not already) and ends the leases of the agents it registered that are
 * still live; undefined when there is no such token. Run it in one transaction.
 */
export async function revokeAgentToken(
  tx: Executor,
  id: string,
  now: number,
): Promise<{ id: string; agentsEnded: number } | undefined> {
  const row = await tx
    .selectFrom('agent_tokens')
    .select(['id', 'revoked_at'])
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row) return undefined;
  if (row.revoked_at === null) {
    await tx.updateTable('agent_tokens').set({ revoked_at: now }).where('id', '=', row.id).execute();
  }
  // The machines it let in are no longer trusted: what they run is run again elsewhere.
  const ended = await tx
    .updateTable('agents')
    .set({ lease_expires_at: now })
    .where('token_id', '=', row.id)
    .where('lease_expires_at', '>', now)
    .executeTakeFirst();
  return { id: row.id, agentsEnded: Number(ended.numUpdatedRows) };
}
