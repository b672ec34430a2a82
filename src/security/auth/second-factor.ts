import type { Clock } from '../../core/clock.js';
import { FalajError } from '../../core/errors.js';
import type { Executor } from '../../store/executor.js';
import type { Keyring } from '../secrets/keyring.js';
import { sha256Hex } from '../secrets/secrets.js';
import type { Outcome } from './login-throttle.js';
import { matchTotp } from './totp.js';

export type SecondFactorResult = 'ok' | 'missing' | 'invalid' | 'replayed';

/**
 * The error for a refused second factor, and what it means to the throttle. Only a wrong code
 * is a guess. A missing code is not, and neither is a replay: a replay means the password was
 * right and the code was a right one used twice (two tabs, a retried request, parallel
 * logins), so it must not count towards locking the account.
 */
const REFUSALS = {
  missing: ['FALAJ_TOTP_REQUIRED', 'neutral'],
  invalid: ['FALAJ_TOTP_INVALID', 'failure'],
  replayed: ['FALAJ_TOTP_REPLAYED', 'neutral'],
} as const;

export function secondFactorRefusal(result: Exclude<SecondFactorResult, 'ok'>): {
  error: FalajError;
  outcome: Outcome;
} {
  const [code, outcome] = REFUSALS[result];
  return { error: new FalajError(code, `second factor: ${result}`), outcome };
}

export const mfaContext = (userId: string) => `falaj-totp|${userId}`;

/** Recovery codes are normalised before hashing so that dashes and case do not matter. */
export function hashRecoveryCode(code: string): string {
  return sha256Hex(code.replace(/[^a-z0-9]/gi, '').toLowerCase());
}

/**
 * Checks a TOTP code (or a one-time recovery code) for a user with MFA enabled, and consumes
 * it: the accepted time step is stored so the same code is refused the second time.
 */
export async function checkSecondFactor(
  db: Executor,
  clock: Clock,
  keyring: Keyring,
  user: { id: string; mfa_secret: string | null; mfa_last_step: number | null },
  input: { totp?: string | undefined; recoveryCode?: string | undefined },
): Promise<SecondFactorResult> {
  if (input.recoveryCode) {
    const row = await db
      .selectFrom('recovery_codes')
      .select('id')
      .where('user_id', '=', user.id)
      .where('code_hash', '=', hashRecoveryCode(input.recoveryCode))
      .where('used_at', 'is', null)
      .executeTakeFirst();
    if (!row) return 'invalid';
    // Conditional on still being unused: of two requests racing with one code, only one wins.
    const used = await db
      .updateTable('recovery_codes')
      .set({ used_at: clock.now() })
      .where('id', '=', row.id)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return Number(used.numUpdatedRows) === 1 ? 'ok' : 'invalid';
  }
  if (!input.totp) return 'missing';
  if (!user.mfa_secret) return 'invalid';
  const secret = keyring.unwrap(user.mfa_secret, mfaContext(user.id)).toString('utf8');
  const step = matchTotp(secret, input.totp, clock.now());
  if (step === null) return 'invalid';
  if (user.mfa_last_step !== null && step <= user.mfa_last_step) return 'replayed';
  // `user` may be a stale read: the step only moves forward, and the update says whether this
  // request moved it. Two requests racing with one code cannot both be accepted.
  const moved = await db
    .updateTable('users')
    .set({ mfa_last_step: step })
    .where('id', '=', user.id)
    .where((eb) => eb.or([eb('mfa_last_step', 'is', null), eb('mfa_last_step', '<', step)]))
    .executeTakeFirst();
  return Number(moved.numUpdatedRows) === 1 ? 'ok' : 'replayed';
}
