import { authenticator } from 'otplib';

// RFC 6238 as authenticator apps implement it: SHA-1, 30-second steps, 6 digits. One step of
// drift either way is accepted for clock skew.
const STEP_SECONDS = 30;
const base = authenticator.clone({ step: STEP_SECONDS, digits: 6, window: 1 });

export function newTotpSecret(): string {
  return base.generateSecret(20); // 160 bits, RFC 4226's recommended length
}

export function otpauthUri(username: string, secret: string, issuer = 'Falaj'): string {
  return base.keyuri(username, issuer, secret);
}

/** The code for a time (tests and `falaj mfa code` for scripted set-ups). */
export function totpAt(secret: string, nowMs: number): string {
  return base.clone({ epoch: nowMs }).generate(secret);
}

/**
 * Checks a code at `nowMs`. Returns the matched time step, or null when the code is wrong.
 * The caller refuses a step at or before the last one accepted, so a code works once.
 */
export function matchTotp(secret: string, code: string, nowMs: number): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const delta = base.clone({ epoch: nowMs }).checkDelta(code, secret);
  if (delta === null) return null;
  return Math.floor(nowMs / 1000 / STEP_SECONDS) + delta;
}
