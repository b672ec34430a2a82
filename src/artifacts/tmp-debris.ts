import { createHash, randomBytes } from 'node:crypto';
import os from 'node:os';

// Names of the local artifact store's work entries (uploads, deletions, sidecar rewrites in
// progress), and the rule for when one is debris that a start may remove.

/** Debris from another host (a shared data dir) is removed only once surely abandoned. */
const FOREIGN_TMP_MAX_AGE_MS = 24 * 3600_000;
const HOST_TAG = createHash('sha256').update(os.hostname()).digest('hex').slice(0, 8);

export function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}

/** Names of tmp entries: `<u|d|k>-<pid>-<random>-<host tag>`, so a restart can tell whose debris it is. */
export function tmpName(kind: 'u' | 'd' | 'k'): string {
  return `${kind}-${process.pid}-${randomBytes(6).toString('hex')}-${HOST_TAG}`;
}

/** True when a tmp entry was left by a process that can no longer finish it. */
export function abandoned(name: string, mtimeMs: number): boolean {
  const m = /^[udk]-(\d+)-[0-9a-f]+-([0-9a-f]{8})$/.exec(name);
  if (!m) return true;
  if (m[2] === HOST_TAG) return !pidAlive(Number(m[1]));
  return Date.now() - mtimeMs > FOREIGN_TMP_MAX_AGE_MS;
}
