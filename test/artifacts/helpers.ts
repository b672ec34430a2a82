import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'vitest';
import { LocalArtifactStore } from '../../src/artifacts/local-artifact-store.js';
import { FalajError } from '../../src/core/errors.js';
import { Keyring } from '../../src/security/secrets/keyring.js';

export const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** A store in a fresh temp data dir (keyring in <dir>/keys, blobs in <dir>/artifacts). */
export function tempStore(opts: { chunkSize?: number; masterKey?: string } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'falaj-artifacts-'));
  const keyring = Keyring.open(dir, opts.masterKey);
  const store = new LocalArtifactStore(path.join(dir, 'artifacts'), keyring, { chunkSize: opts.chunkSize });
  return { dir, keyring, store, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Feeds `data` in pieces of the given sizes (cycled), to exercise chunk reassembly. */
export function pieces(data: Buffer, sizes: number[] = [data.length || 1]): Readable {
  const out: Buffer[] = [];
  for (let off = 0, i = 0; off < data.length; i++) {
    const n = Math.max(1, sizes[i % sizes.length]!);
    out.push(data.subarray(off, off + n));
    off += n;
  }
  return Readable.from(out, { objectMode: false });
}

/** Reads a stream to its end; on error returns what had arrived and the error. */
export async function drain(stream: Readable): Promise<{ data: Buffer; error: unknown }> {
  const parts: Buffer[] = [];
  try {
    for await (const c of stream) parts.push(c as Buffer);
    return { data: Buffer.concat(parts), error: undefined };
  } catch (error) {
    return { data: Buffer.concat(parts), error };
  }
}

export function expectCode(err: unknown, code: string): void {
  expect(err, `expected ${code}`).toBeInstanceOf(FalajError);
  expect((err as FalajError).code).toBe(code);
}

/** Every file under `dir`, relative, sorted (for "nothing left behind" checks). */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let names: string[];
    try {
      names = readdirSync(d, { withFileTypes: true }).map((e) => (e.isDirectory() ? `${e.name}/` : e.name));
    } catch {
      return;
    }
    for (const n of names) {
      if (n.endsWith('/')) walk(path.join(d, n));
      else out.push(path.relative(dir, path.join(d, n)));
    }
  };
  walk(dir);
  return out.sort();
}

export function fileHash(file: string): string {
  return sha256(readFileSync(file));
}

export const random = (n: number) => randomBytes(n);

/** A pid that is surely not running: one of a child that has exited. */
export function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}
