import { hash, verify } from '@node-rs/argon2';

// OWASP's argon2id baseline: 19 MiB of memory, 2 iterations, 1 lane.
// `algorithm: 2` is Argon2id (the package exports it as a const enum, which isolated modules cannot read).
export const ARGON2_OPTIONS = { algorithm: 2 as const, memoryCost: 19456, timeCost: 2, parallelism: 1 };

export const MIN_PASSWORD_LENGTH = 12;

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_OPTIONS);
}

// Told of every password check (see observePasswordChecks); unset outside tests.
let checkObserver: (() => void) | undefined;

/**
 * For tests: `observer` is called at each password hash check, real or burned for an unknown
 * username, so that a test can count how many guesses reached the hash. Returns a function that
 * removes it. In production nothing is set and a check costs one comparison more.
 */
export function observePasswordChecks(observer: () => void): () => void {
  checkObserver = observer;
  return () => {
    if (checkObserver === observer) checkObserver = undefined;
  };
}

export async function verifyPassword(encoded: string, password: string): Promise<boolean> {
  checkObserver?.();
  try {
    return await verify(encoded, password);
  } catch {
    return false;
  }
}

// Checked against when the username is unknown, so that a wrong username costs the same time
// as a wrong password and the login cannot be used to discover accounts.
let dummyHash: Promise<string> | undefined;
export async function burnPasswordCheck(password: string): Promise<void> {
  dummyHash ??= hashPassword('falaj-dummy-password-for-timing');
  await verifyPassword(await dummyHash, password);
}
