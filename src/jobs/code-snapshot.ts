import { spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { findArtifact } from '../artifacts/artifact-rows.js';
import { FalajError } from '../core/errors.js';
import type { Executor as Db } from '../store/executor.js';
import type { JobSpec } from './types.js';

/** Where a job's code snapshot is unpacked inside its attempt's work dir. */
export const CODE_DIR = 'code';

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve()
        : reject(
            new FalajError('FALAJ_DATA_INVALID', `code snapshot: ${cmd} failed: ${err.trim().slice(0, 500)}`),
          ),
    );
  });
}

/** The blob of a job's code snapshot, looked up when an attempt starts (it may have been deleted since). */
export async function codeSnapshotDigest(db: Db, projectId: string, artifactPath: string): Promise<string> {
  const row = await findArtifact(db, projectId, artifactPath);
  if (!row) throw new FalajError('FALAJ_NOT_FOUND', `code snapshot '${artifactPath}' no longer exists`);
  return row.digest;
}

/**
 * Unpacks a job's `code: {artifact}` snapshot (a tar) into `<workDir>/code` and returns the spec
 * to launch: its working directory is the unpacked code (a relative `workdir` is taken inside
 * it). `fetch` writes the artifact's bytes to a file (the server decrypts it from the store; an
 * agent downloads it). GNU tar refuses absolute and `..` member names, so nothing lands outside.
 */
export async function materializeCode(
  spec: JobSpec,
  workDir: string,
  fetch: (artifactPath: string, file: string) => Promise<void>,
): Promise<JobSpec> {
  if (!spec.code || !('artifact' in spec.code)) return spec;
  const dir = path.join(workDir, CODE_DIR);
  const tar = path.join(workDir, 'code.tar');
  await mkdir(dir, { recursive: true });
  await fetch(spec.code.artifact, tar);
  try {
    await run('tar', ['-xf', tar, '-C', dir, '--no-same-owner', '--no-same-permissions']);
  } finally {
    await rm(tar, { force: true });
  }
  const workdir =
    spec.workdir && !path.isAbsolute(spec.workdir) ? path.join(dir, spec.workdir) : (spec.workdir ?? dir);
  return { ...spec, workdir };
}

/** Packs a local folder as a tar for `falaj jobs submit --code DIR`. */
export async function packFolder(folder: string, tarFile: string): Promise<void> {
  await run('tar', ['-cf', tarFile, '-C', folder, '.']);
}
