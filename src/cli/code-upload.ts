// Code snapshots from the CLI: a folder packed as a tar and stored as a project artifact, which
// the job's executor unpacks into the attempt's own directory (the only one its sandbox shows).
import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FalajClient } from '../client/index.js';
import { packFolder } from '../jobs/code-snapshot.js';

/** Packs `dir` and uploads it as `jobs/code/<sha256 prefix>.tar`; returns the artifact path. */
export async function uploadCode(client: FalajClient, dir: string): Promise<string> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'falaj-code-'));
  try {
    const tar = path.join(tmp, 'code.tar');
    await packFolder(path.resolve(dir), tar);
    const bytes = await readFile(tar);
    const artifact = `jobs/code/${createHash('sha256').update(bytes).digest('hex').slice(0, 24)}.tar`;
    await client.request(
      'PUT',
      `/api/v1/projects/${encodeURIComponent(client.project ?? '')}/artifacts/files/${artifact}`,
      {
        body: { body: bytes, headers: { 'content-type': 'application/x-tar' } },
      },
    );
    return artifact;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Uploads one file as a snapshot of its own; the job finds it under its base name in its working directory. */
export async function uploadFileAsCode(client: FalajClient, file: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'falaj-data-'));
  try {
    await copyFile(file, path.join(dir, path.basename(file)));
    return await uploadCode(client, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
