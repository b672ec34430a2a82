import { newId } from '../../core/ids.js';
import type { Executor } from '../../store/executor.js';

// Project API tokens' rows. A token's check on a request is auth/identity.ts; its power,
// access.ts.

/** Token rows joined with their project and owner; the hash is never selected. */
function tokenQuery(db: Executor) {
  return db
    .selectFrom('api_tokens as t')
    .innerJoin('projects as p', 'p.id', 't.project_id')
    .innerJoin('users as u', 'u.id', 't.user_id')
    .select(['t.id', 't.name', 't.role', 't.user_id', 't.created_at', 't.expires_at', 't.revoked_at'])
    .select(['t.last_used_at', 't.deployment', 'p.name as project', 'u.username as owner'])
    .orderBy('t.created_at', 'desc')
    .orderBy('t.id');
}

export type TokenRow = Awaited<ReturnType<ReturnType<typeof tokenQuery>['execute']>>[number];

/** Stores a new token (its hash only); returns its id. */
export async function createToken(
  db: Executor,
  t: {
    name: string;
    tokenHash: string;
    userId: string;
    projectId: string;
    role: string;
    now: number;
    expiresAt: number;
    /** An invoke token's one deployment. */
    deployment?: string | undefined;
  },
): Promise<string> {
  const id = newId();
  await db
    .insertInto('api_tokens')
    .values({
      id,
      name: t.name,
      token_hash: t.tokenHash,
      user_id: t.userId,
      project_id: t.projectId,
      role: t.role,
      created_at: t.now,
      expires_at: t.expiresAt,
      revoked_at: null,
      last_used_at: null,
      deployment: t.deployment ?? null,
    })
    .execute();
  return id;
}

/** Tokens, newest first: of a project, of a user, or of a user in a project. */
export async function listTokens(
  db: Executor,
  of: { projectId?: string | undefined; userId?: string | undefined },
): Promise<TokenRow[]> {
  let q = tokenQuery(db);
  if (of.projectId !== undefined) q = q.where('t.project_id', '=', of.projectId);
  if (of.userId !== undefined) q = q.where('t.user_id', '=', of.userId);
  return q.execute();
}

/** A token of a project by id, revoked or not. */
export async function findToken(db: Executor, projectId: string, id: string): Promise<TokenRow | undefined> {
  return tokenQuery(db).where('t.project_id', '=', projectId).where('t.id', '=', id).executeTakeFirst();
}

export async function revokeToken(db: Executor, id: string, now: number): Promise<void> {
  await db.updateTable('api_tokens').set({ revoked_at: now }).where('id', '=', id).execute();
}

/** Revokes every live token a user holds in a project (when the user leaves it). */
export async function revokeUserProjectTokens(
  db: Executor,
  projectId: string,
  userId: string,
  now: number,
): Promise<void> {
  await db
    .updateTable('api_tokens')
    .set({ revoked_at: now })
    .where('project_id', '=', projectId)
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .execute();
}

/** A revocable, possibly expiring credential's state (API and agent tokens alike). */
export function credentialStatus(
  revokedAt: number | null,
  expiresAt: number | null,
  now: number,
): 'active' | 'expired' | 'revoked' {
  if (revokedAt !== null) return 'revoked';
  return expiresAt !== null && Number(expiresAt) <= now ? 'expired' : 'active';
}
