import type { Clock } from '../../core/clock.js';
import { FalajError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import type { Executor } from '../../store/executor.js';
import { hashPassword, MIN_PASSWORD_LENGTH } from './passwords.js';
import { endUserSessions } from './sessions.js';

export const USERNAME_PATTERN = '^[a-z0-9][a-z0-9._-]{1,63}$';

export interface UserView {
  id: string;
  username: string;
  owner: boolean;
  disabled: boolean;
  mfaEnabled: boolean;
  createdAt: string;
}

export function checkPasswordStrength(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      `password must be at least ${MIN_PASSWORD_LENGTH} characters`,
    );
  }
}

export async function createUser(
  db: Executor,
  clock: Clock,
  input: { username: string; password: string; owner?: boolean },
): Promise<UserView> {
  checkPasswordStrength(input.password);
  const existing = await db
    .selectFrom('users')
    .select('id')
    .where('username', '=', input.username)
    .executeTakeFirst();
  if (existing) throw new FalajError('FALAJ_CONFLICT', `user '${input.username}' already exists`);
  const now = clock.now();
  const row = {
    id: newId(),
    username: input.username,
    password_hash: await hashPassword(input.password),
    is_owner: input.owner ? 1 : 0,
    disabled: 0,
    mfa_secret: null,
    mfa_enabled: 0,
    mfa_last_step: null,
    created_at: now,
    updated_at: now,
  };
  await db.insertInto('users').values(row).execute();
  return toView(row);
}

export function toView(row: {
  id: string;
  username: string;
  is_owner: number;
  disabled: number;
  mfa_enabled: number;
  created_at: number;
}): UserView {
  return {
    id: row.id,
    username: row.username,
    owner: row.is_owner === 1,
    disabled: row.disabled === 1,
    mfaEnabled: row.mfa_enabled === 1,
    createdAt: new Date(row.created_at).toISOString(),
  };
}

export async function findUser(db: Executor, username: string) {
  return db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
}

export async function requireUser(db: Executor, username: string) {
  const user = await findUser(db, username);
  if (!user) throw new FalajError('FALAJ_NOT_FOUND', `user '${username}' does not exist`);
  return user;
}

/** Every user, by username. */
export async function listUsers(db: Executor) {
  return db.selectFrom('users').selectAll().orderBy('username').execute();
}

/** Disables or enables a user, grants or withdraws ownership; an absent flag is left as it is. */
export async function setUserFlags(
  db: Executor,
  clock: Clock,
  userId: string,
  flags: { disabled?: boolean | undefined; owner?: boolean | undefined },
): Promise<void> {
  const set: { disabled?: number; is_owner?: number; updated_at: number } = { updated_at: clock.now() };
  if (flags.disabled !== undefined) set.disabled = flags.disabled ? 1 : 0;
  if (flags.owner !== undefined) set.is_owner = flags.owner ? 1 : 0;
  await db.updateTable('users').set(set).where('id', '=', userId).execute();
}

/** The projects a user is a member of, by name, with the role in each. */
export async function userMemberships(db: Executor, userId: string) {
  return db
    .selectFrom('memberships as m')
    .innerJoin('projects as p', 'p.id', 'm.project_id')
    .select(['p.name as project', 'm.role'])
    .where('m.user_id', '=', userId)
    .orderBy('p.name')
    .execute();
}

/** Refuses a change that would leave no enabled owner (nobody could administer the platform). */
export async function assertAnotherOwner(db: Executor, exceptUserId: string): Promise<void> {
  const other = await db
    .selectFrom('users')
    .select('id')
    .where('is_owner', '=', 1)
    .where('disabled', '=', 0)
    .where('id', '!=', exceptUserId)
    .executeTakeFirst();
  if (!other)
    throw new FalajError('FALAJ_LAST_OWNER', 'this would leave the platform without an active owner');
}

export async function setPassword(
  db: Executor,
  clock: Clock,
  userId: string,
  password: string,
  opts: { keepSessionId?: string | undefined } = {},
): Promise<void> {
  checkPasswordStrength(password);
  const now = clock.now();
  await db
    .updateTable('users')
    .set({ password_hash: await hashPassword(password), updated_at: now })
    .where('id', '=', userId)
    .execute();
  // A new password ends every existing session of the account, except the one that changed
  // it when the user changes their own (whoever else knew the old password is logged out).
  await endUserSessions(db, userId, now, opts.keepSessionId);
}
