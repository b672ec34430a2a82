// Shared test helpers: model directories with their digests, and frames/batches of rows.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import type { ColumnBatch, ColumnData } from '../../../src/serving/protocols/index.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

export async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'falaj-runtime-'));
  dirs.push(d);
  return d;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Every file in `dir` with its digest, as a registry's version record lists them. */
export async function digestsOf(dir: string): Promise<{ name: string; digest: string }[]> {
  const names = (await readdir(dir)).filter((n) => !n.startsWith('.')).sort();
  return Promise.all(
    names.map(async (name) => ({ name, digest: sha256(await readFile(path.join(dir, name))) })),
  );
}

export function batchOf(columns: Record<string, ColumnData>): ColumnBatch {
  const entries = Object.entries(columns);
  return { columns: new Map(entries), rows: entries[0]?.[1].length ?? 0 };
}
