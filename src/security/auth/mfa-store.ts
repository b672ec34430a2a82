import { randomInt } from 'node:crypto';
import type { Clock } from '../../core/clock.js';
import { newId } from '../../core/ids.js';
import type { Executor } from '../../store/executor.js';
import type { Keyring } from '../secrets/keyring.js';
import { hashRecoveryCode, mfaContext } from './second-factor.js';
import { newTotpSecret } from './totp.js';

// An account's MFA state (its sealed TOTP secret, recovery codes) and the platform's
// require-MFA setting (read by identity.ts, with every session's request). The check of a
// code, which consumes it, is second-factor.ts.

export const RECOVERY_CODE_COUNT = 10;

// Crockford's base32 alphabet (no i, l, o, u): 5 bits a character, easy to read aloud and type.
const RECOVERY_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/**
 * One recovery code: 16 characters, 80 random bits, shown as xxxx-xxxx-xxxx-xxxx. 80 bits is
 * why an unsalted SHA-256 (hashRecoveryCode) is a sound way to store it.
 */
export function newRecoveryCode(): string {
  let s = '';
  for (let i = 0; i < 16; i++) s += RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)];
  return s.match(/.{4}/g)!.join('-');
}

/** Replaces every recovery code of a user by a fresh set; returns the codes (shown once). */
export async function replaceRecoveryCodes(tx: Executor, userId: string): Promise<string[]> {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
  await tx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
  await tx
    .insertInto('recovery_codes')
    .values(
      codes.map((c) => ({ id: newId(), user_id: userId, code_hash: hashRecoveryCode(c), used_at: null })),
    )
    .execute();
  return codes;
}

/**
 * Gives a user a new pending TOTP secret (sealed), MFA off until a first code activates it;
 * returns the secret. Enrolling again before activating replaces the pending secret (a QR
 * code scanned badly).
 */
export async function beginEnrolment(
  db: Executor,
  clock: Clock,
  keyring: Keyring,
  userId: string,
): Promise<string> {
  const secret = newTotpSecret();
  await db
    .updateTable('users')
    .set({
      mfa_secret: keyring.wrap(Buffer.from(secret, 'utf8'), mfaContext(userId)),
      mfa_enabled: 0,
      mfa_last_step: null,
      updated_at: clock.now(),
    })
    .where('id', '=', userId)
    .execute();
  return secret;
}

/**
 * Turns MFA on with the pending secret the caller read (`sealedSecret`), `step` being the time
 * step of the first code it accepted. Conditional on that state: a concurrent enrolment or
 * activation makes this a no-op, and it returns false.
 */
export async function activateMfa(
  db: Executor,
  clock: Clock,
  userId: string,
  sealedSecret: string,
  step: number,
): Promise<boolean> {
  const res = await db
    .updateTable('users')
    .set({ mfa_enabled: 1, mfa_last_step: step, updated_at: clock.now() })
    .where('id', '=', userId)
    .where('mfa_enabled', '=', 0)
    .where('mfa_secret', '=', sealedSecret)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

/** Turns MFA off for a user: removes the secret and the recovery codes. */
export async function removeMfa(db: Executor, userId: string, now: number): Promise<void> {
  await db
    .updateTable('users')
    .set({ mfa_secret: null, mfa_enabled: 0, mfa_last_step: null, updated_at: now })
    .where('id', '=', userId)
    .execute();
  await db.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
}

/** Sets the platform's require-MFA setting (readRequireMfa in identity.ts reads it). */
export async function writeRequireMfa(db: Executor, required: boolean): Promise<void> {
  const value = required ? 'true' : 'false';
  await db
    .insertInto('settings')
    .values({ key: 'require_mfa', value })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
    .execute();
}
