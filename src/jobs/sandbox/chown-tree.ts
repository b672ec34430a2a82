import { lchownSync, readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * Gives a folder and everything in it to the job's user, so that its own directory and code
 * snapshot are read-write for it. lchown: a symbolic link unpacked from a snapshot is changed
 * itself, never what it points to.
 */
export function chownTree(dir: string, uid: number, gid: number): void {
  lchownSync(dir, uid, gid);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(p, uid, gid);
    else lchownSync(p, uid, gid);
  }
}
