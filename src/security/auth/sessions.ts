import { newId } from '../../core/ids.js';
import type { Executor } from '../../store/executor.js';

/** Opens a login session; only the token's hash is stored. Returns the session's id. */
export async function openSession(
  db: Executor,
  s: { tokenHash: string; userId: string; now: number; expiresAt: number },
): Promise<string> {
  const id = newId();
  await db
    .insertInto('sessions')
    .values({
      id,
      token_hash: s.tokenHash,
      user_id: s.userId,
      created_at: s.now,
      expires_at: s.expiresAt,
      last_used_at: s.now,
      revoked_at: null,
    })
    .execute();
  return id;
}

/** Ends one session (a logout). */
export async function endSession(db: Executor, sessionId: string, now: number): Promise<void> {
  await db.updateTable('sessions').set({ revoked_at: now }).where('id', '=', sessionId).execute();
}

/**
 * Ends every open session of a user, except `keepSessionId` when given (the caller's own);
 * returns how many it ended.
 */
export async function endUserSessions(
  db: Executor,
  userId: string,
  now: number,
  keepSessionId?: string,
): Promise<number> {
  let sessions = db
    .updateTable('sessions')
    .set({ revoked_at: now })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null);
  if (keepSessionId) sessions = sessions.where('id', '!=', keepSessionId);
  const ended = await sessions.executeTakeFirst();
  return Number(ended.numUpdatedRows);
}
