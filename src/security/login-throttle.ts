import { sql } from 'kysely';
import type { Clock } from '../core/clock.js';
import { FalajError } from '../core/errors.js';
import type { Executor } from './audit-log.js';

/**
 * Failed logins per username (known or not, so that probing unknown names is slowed alike):
 * the first SLOW_AFTER failures cost nothing; then each attempt must wait 1, 2, 4, 8... seconds
 * after the last failure; at LOCK_AFTER failures the account is locked for LOCK_MS.
 */
export const SLOW_AFTER = 5;
export const LOCK_AFTER = 10;
export const LOCK_MS = 15 * 60_000;

export function throttleKey(username: string): string {
  return username.trim().toLowerCase();
}

/** Throws 423/429 if this username may not try now. */
export async function checkThrottle(db: Executor, clock: Clock, username: string): Promise<void> {
  const row = await db
    .selectFrom('login_attempts')
    .selectAll()
    .where('username', '=', throttleKey(username))
    .executeTakeFirst();
  if (!row) return;
  const now = clock.now();
  if (row.locked_until !== null && now < row.locked_until) {
    throw new FalajError(
      'FALAJ_ACCOUNT_LOCKED',
      'too many failed logins: the account is locked for a while',
      {
        lockedUntil: new Date(row.locked_until).toISOString(),
      },
    );
  }
  if (row.failures >= SLOW_AFTER && row.locked_until === null) {
    const waitMs = 1000 * 2 ** (row.failures - SLOW_AFTER);
    const allowedAt = row.last_failure_at + waitMs;
    if (now < allowedAt) {
      throw new FalajError('FALAJ_LOGIN_THROTTLED', 'too many failed logins: wait before trying again', {
        retryAfterSeconds: Math.ceil((allowedAt - now) / 1000),
      });
    }
  }
}

/**
 * Counts one failure atomically (one upsert, so simultaneous failures are each counted and two
 * first failures cannot collide on insert) and locks the account when the count reaches the limit.
 */
export async function recordFailure(db: Executor, clock: Clock, username: string): Promise<number> {
  const key = throttleKey(username);
  const now = clock.now();
  const row = await db
    .insertInto('login_attempts')
    .values({ username: key, failures: 1, last_failure_at: now, locked_until: null })
    .onConflict((oc) =>
      oc.column('username').doUpdateSet({
        // After a lock runs out the account is still on probation: one failure from a new lock.
        failures: sql<number>`case when login_attempts.locked_until is not null then ${LOCK_AFTER}
          else login_attempts.failures + 1 end`,
        last_failure_at: now,
      }),
    )
    .returning('failures')
    .executeTakeFirstOrThrow();
  if (row.failures >= LOCK_AFTER) {
    await db
      .updateTable('login_attempts')
      .set({ locked_until: now + LOCK_MS })
      .where('username', '=', key)
      .execute();
  } else {
    await db.updateTable('login_attempts').set({ locked_until: null }).where('username', '=', key).execute();
  }
  return row.failures;
}

export async function clearFailures(db: Executor, username: string): Promise<void> {
  await db.deleteFrom('login_attempts').where('username', '=', throttleKey(username)).execute();
}
