// Where the local executor keeps what it knows about an attempt, so that a new executor
// instance (after a server restart) finds it again by externalId:
//   <stateDir>/<externalId>.json  the record: workDir, wrapper pid (= process group id), its
//                                 start time and the boot id (so a reused pid is not taken for it)
//   <workDir>.falaj/output.log    stdout and stderr, interleaved as written
//   <workDir>.falaj/exit.json     how it ended, written by the wrapper
//   <workDir>.falaj/cancel.json   written before Falaj signals it, so its end reads as cancelled
// The files Falaj reads and writes live beside the attempt's directory, never in it: the job
// owns its directory and could put a symbolic link where the server (maybe root) would follow it.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FalajError } from '../../core/errors.js';
import { chownTree } from '../sandbox/chown-tree.js';
import type { WrapperExit } from './local-wrapper.js';

export interface LocalAttemptRecord {
  readonly version: 1;
  readonly externalId: string;
  readonly jobId: string;
  readonly attempt: number;
  readonly workDir: string;
  /** The wrapper's pid, which is also the process group id of everything the attempt runs. */
  readonly pid: number;
  readonly startTime: string | undefined;
  readonly bootId: string;
  readonly startedAt: string;
}

export interface CancelRequest {
  readonly requestedAt: string;
  readonly graceSeconds: number;
}

const CONTROL_SUFFIX = '.falaj';

/** The folder beside an attempt's directory that holds the executor's files about it (not the job's). */
export const controlDir = (workDir: string): string => `${path.resolve(workDir)}${CONTROL_SUFFIX}`;

/** The attempt's directory of a control dir (or of a file in one). */
export const workDirOfControl = (dir: string): string =>
  dir.endsWith(CONTROL_SUFFIX) ? dir.slice(0, -CONTROL_SUFFIX.length) : dir;

/**
 * Makes an attempt's directory and its control dir; where jobs run as another user, gives the
 * attempt's directory (with its unpacked code) to that user. The control dir stays the server's.
 */
export function prepareAttemptDirs(workDir: string, runAs: { uid: number; gid: number } | undefined): void {
  mkdirSync(workDir, { recursive: true });
  mkdirSync(controlDir(workDir), { recursive: true, mode: 0o700 });
  if (runAs) chownTree(workDir, runAs.uid, runAs.gid);
}

export const attemptFiles = (workDir: string) => {
  const dir = controlDir(workDir);
  return {
    log: path.join(dir, 'output.log'),
    exit: path.join(dir, 'exit.json'),
    cancel: path.join(dir, 'cancel.json'),
    plan: path.join(dir, 'plan.json'),
    wrapper: path.join(dir, 'falaj-wrapper.cjs'),
  };
};

const EXTERNAL_ID = /^[A-Za-z0-9_-]{1,128}\.\d{1,9}\.\d{1,10}$/;

export function localExternalId(jobId: string, attempt: number, pid: number): string {
  return `${jobId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 128)}.${attempt}.${pid}`;
}

export function writeJsonAtomic(file: string, value: unknown): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value));
  renameSync(tmp, file);
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export function recordPath(stateDir: string, externalId: string): string {
  if (!EXTERNAL_ID.test(externalId)) {
    throw new FalajError('FALAJ_INVALID_ARGUMENT', `'${externalId}' is not a local executor attempt id`, {
      externalId,
    });
  }
  return path.join(stateDir, `${externalId}.json`);
}

export function readRecord(stateDir: string, externalId: string): LocalAttemptRecord {
  const record = readJson<LocalAttemptRecord>(recordPath(stateDir, externalId));
  if (!record) {
    throw new FalajError('FALAJ_NOT_FOUND', `the local executor knows no attempt '${externalId}'`, {
      kind: 'attempt',
      id: externalId,
    });
  }
  return record;
}

export const readExit = (workDir: string): WrapperExit | undefined => readJson(attemptFiles(workDir).exit);
export const readCancel = (workDir: string): CancelRequest | undefined =>
  readJson(attemptFiles(workDir).cancel);
