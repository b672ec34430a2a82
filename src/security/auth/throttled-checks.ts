import type { FastifyRequest } from 'fastify';
import { FalajError } from '../../core/errors.js';
import { type AuditFacts, auditAttempt } from '../../http/audited.js';
import type { Services } from '../../http/services.js';
import type { UsersTable } from '../../store/schema.js';
import { type Attempt, type Outcome, withAttempt } from './login-throttle.js';
import { verifyPassword } from './passwords.js';
import { checkSecondFactor, type SecondFactorResult, secondFactorRefusal } from './second-factor.js';

// Guesses a signed-in or signing-in caller makes (a password, a TOTP or recovery code), each
// one attempt under the login throttle, and audited when refused: what the auth and MFA routes
// share.

/**
 * Runs `check` as one attempt under the throttle of `key` (a username, or `mfa:<username>`)
 * from the caller's address (login-throttle.ts); a refusal by the throttle is audited.
 */
export function throttledAttempt<T>(
  svc: Services,
  req: FastifyRequest,
  facts: AuditFacts,
  key: string,
  check: (attempt: Attempt) => Promise<T>,
): Promise<T> {
  return withAttempt(
    {
      db: svc.store.db,
      clock: svc.clock,
      key,
      source: req.ip,
      onRefusal: (err) => auditAttempt(svc, req, { ...facts, details: { reason: err.code } }, err.status),
    },
    check,
  );
}

/** Records a refused check (its outcome for the throttle and its audit event, together); returns the error to throw. */
export async function refuseAttempt(
  svc: Services,
  req: FastifyRequest,
  facts: AuditFacts,
  attempt: Attempt,
  outcome: Outcome,
  err: FalajError,
): Promise<FalajError> {
  await svc.store.db.transaction().execute(async (tx) => {
    await attempt.finish(tx, outcome);
    await auditAttempt(svc, req, { ...facts, details: { reason: err.code } }, err.status, tx);
  });
  return err;
}

/**
 * Checks the password of a signed-in user, under the same throttle as logging in: a session
 * must not be an unthrottled password oracle. Throws FALAJ_INVALID_CREDENTIALS if it is wrong.
 */
export async function requirePassword(
  svc: Services,
  req: FastifyRequest,
  facts: AuditFacts,
  user: Pick<UsersTable, 'username' | 'password_hash'>,
  password: string,
): Promise<void> {
  await throttledAttempt(svc, req, facts, user.username, async (attempt) => {
    if (await verifyPassword(user.password_hash, password)) return attempt.finish(svc.store.db, 'success');
    const err = new FalajError('FALAJ_INVALID_CREDENTIALS', 'password is wrong');
    throw await refuseAttempt(svc, req, facts, attempt, 'failure', err);
  });
}

/**
 * Guesses at a second factor through the MFA routes are throttled like logins, under a key of
 * their own: a stolen session must not be able to try a million TOTP codes to reach the
 * recovery codes, and a wrong code here must not lock the user out of logging in. Usernames
 * cannot contain ':', so the key never meets a real login's. (The password these routes ask
 * for is checked under the login key, like every password.)
 */
export const mfaThrottleKey = (username: string) => `mfa:${username}`;

/**
 * One guess at a code, under the MFA throttle of the caller: `check` returns what it
 * accepted, or why it refused (then thrown as the matching error, and counted if a guess).
 */
export async function throttledCode<T>(
  svc: Services,
  req: FastifyRequest,
  facts: AuditFacts,
  check: () => Promise<{ accepted: T } | { refused: Exclude<SecondFactorResult, 'ok'> }>,
): Promise<T> {
  const key = mfaThrottleKey(req.identity!.username);
  return throttledAttempt(svc, req, facts, key, async (attempt) => {
    const checked = await check();
    if ('accepted' in checked) {
      await attempt.finish(svc.store.db, 'success');
      return checked.accepted;
    }
    const { error, outcome } = secondFactorRefusal(checked.refused);
    throw await refuseAttempt(svc, req, facts, attempt, outcome, error);
  });
}

/** Checks and consumes a TOTP or recovery code of a user with MFA enabled; throws if wrong. */
export async function requireSecondFactor(
  svc: Services,
  req: FastifyRequest,
  facts: AuditFacts,
  user: Parameters<typeof checkSecondFactor>[3],
  input: { totp?: string | undefined; recoveryCode?: string | undefined },
): Promise<void> {
  await throttledCode(svc, req, facts, async () => {
    const result = await svc.store.db
      .transaction()
      .execute((tx) => checkSecondFactor(tx, svc.clock, svc.keyring, user, input));
    return result === 'ok' ? { accepted: undefined } : { refused: result };
  });
}
