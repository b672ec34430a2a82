// A project's members and their roles (the `memberships` table).
import { revokeUserProjectTokens } from '../security/access/token-store.js';
import type { Executor } from '../store/executor.js';

/** Members of the project by username, with their role and since when they are members. */
export async function listMembers(db: Executor, projectId: string) {
  return db
    .selectFrom('memberships as m')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select(['u.username', 'm.role', 'm.created_at'])
    .where('m.project_id', '=', projectId)
    .orderBy('u.username')
    .execute();
}

/** Makes the user a member with `role`, or changes their role; returns the role they had, if any. */
export async function setMembership(
  tx: Executor,
  p: { projectId: string; userId: string; role: string; now: number },
): Promise<string | null> {
  const existing = await tx
    .selectFrom('memberships')
    .select('role')
    .where('project_id', '=', p.projectId)
    .where('user_id', '=', p.userId)
    .executeTakeFirst();
  if (existing) {
    await tx
      .updateTable('memberships')
      .set({ role: p.role })
      .where('project_id', '=', p.projectId)
      .where('user_id', '=', p.userId)
      .execute();
  } else {
    await tx
      .insertInto('memberships')
      .values({ project_id: p.projectId, user_id: p.userId, role: p.role, created_at: p.now })
      .execute();
  }
  return existing?.role ?? null;
}

/**
 * Ends the user's membership and revokes their tokens for the project; returns whether they were
 * a member. Run it in a transaction and roll back when they were not.
 */
export async function removeMembership(
  tx: Executor,
  p: { projectId: string; userId: string; now: number },
): Promise<boolean> {
  const res = await tx
    .deleteFrom('memberships')
    .where('project_id', '=', p.projectId)
    .where('user_id', '=', p.userId)
    .executeTakeFirst();
  // Their tokens for this project are revoked too, so that re-adding the user later does
  // not silently bring old tokens back to life.
  await revokeUserProjectTokens(tx, p.projectId, p.userId, p.now);
  return Number(res.numDeletedRows) > 0;
}
