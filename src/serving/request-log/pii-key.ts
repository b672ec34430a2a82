// The keyed hash of PII input columns: HMAC-SHA256 under a per-project random key. The key is
// made once, wrapped under the keyring (so it opens only with the keyring, and with
// FALAJ_MASTER_KEY only with that too) and kept beside the keyring in the data directory's keys/
// folder. Key rotation adds KEK versions and keeps the old ones, so the wrapped key keeps opening
// and the same value keeps hashing the same for the life of the project.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Services } from '../../http/services.js';

function keyContext(projectId: string): string {
  return `serving-log-hash|${projectId}`;
}

function keyFile(svc: Services, projectId: string): string {
  const dir = path.join(path.dirname(svc.keyring.file), 'serving-log');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Project ids are hex; any other id is named by its hash, never used as a path.
  const name = /^[A-Za-z0-9_-]{1,100}$/.test(projectId)
    ? projectId
    : createHash('sha256').update(projectId).digest('hex');
  return path.join(dir, `${name}.key`);
}

/**
 * The project's hash key, created on first use (two processes racing: the first file wins). Reads
 * and unwraps each call: callers that hash often keep it (the writer does, per project).
 */
export function projectHashKey(svc: Services, projectId: string): Buffer {
  const file = keyFile(svc, projectId);
  let wrapped: string;
  try {
    wrapped = readFileSync(file, 'utf8').trim();
  } catch {
    const fresh = svc.keyring.wrap(randomBytes(32), keyContext(projectId));
    try {
      writeFileSync(file, fresh, { flag: 'wx', mode: 0o600 });
      wrapped = fresh;
    } catch {
      wrapped = readFileSync(file, 'utf8').trim(); // created meanwhile by another writer
    }
  }
  return svc.keyring.unwrap(wrapped, keyContext(projectId));
}

/** The keyed hash of one value (numbers hash as their JS string form), lowercase hex. */
export function hashValue(key: Buffer, value: string | number): string {
  return createHmac('sha256', key).update(String(value)).digest('hex');
}
