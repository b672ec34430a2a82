// What the Slurm executor keeps on disk so that it can still answer for an attempt once Slurm has
// forgotten the job (MinJobAge after its end, when there is no accounting database) and from a
// new executor instance (a restarted server):
//   <stateDir>/<externalId>.json   the index: the attempt's workDir and log, written by start()
//   <workDir>.falaj/exit-status    how the batch script ended, its last act (slurm-batch.ts)
//   <workDir>.falaj/cancel.json    Falaj asked for the cancel (written before any signal)
//   <workDir>.falaj/output.log     the job's output (and the batch script, task env of arrays)
// Beside the attempt's directory, never in it: the job owns that one (local-attempt-files.ts).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FalajError } from '../../core/errors.js';
import type { AttemptStatus } from '../types.js';
import { controlDir, readCancel, writeJsonAtomic } from './local-attempt-files.js';
import { EXIT_STATUS_FILE } from './slurm-batch.js';
import { attemptStatusOf } from './slurm-state.js';

/** A Slurm job id, or `<arrayId>_<index>` for an array task. */
export const JOB_ID = /^\d+(_\d+)?$/;

export interface SlurmAttemptRecord {
  readonly version: 1;
  readonly externalId: string;
  readonly jobId: string;
  readonly attempt: number;
  readonly workDir: string;
  readonly logPath: string;
  readonly submittedAt: string;
}

/** How the batch script ended: an exit code, or the signal that killed the command. */
export type BatchExit = { readonly code: number } | { readonly signal: number };

function recordFile(stateDir: string, externalId: string): string {
  if (!JOB_ID.test(externalId)) {
    throw new FalajError('FALAJ_INVALID_ARGUMENT', `'${externalId}' is not a Slurm job id`, { externalId });
  }
  return path.join(stateDir, `${externalId}.json`);
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export function writeAttemptRecord(stateDir: string, record: SlurmAttemptRecord): void {
  writeJsonAtomic(recordFile(stateDir, record.externalId), record);
}

export function readAttemptRecord(stateDir: string, externalId: string): SlurmAttemptRecord | undefined {
  const text = readText(recordFile(stateDir, externalId));
  return text === undefined ? undefined : (JSON.parse(text) as SlurmAttemptRecord);
}

/** The `code=N` or `signal=N` line the batch script wrote; undefined when there is none (yet). */
export function readBatchExit(workDir: string): BatchExit | undefined {
  const text = readText(path.join(controlDir(workDir), EXIT_STATUS_FILE));
  const m = /^(code|signal)=(\d+)$/m.exec(text ?? '');
  if (!m) return undefined;
  return m[1] === 'code' ? { code: Number(m[2]) } : { signal: Number(m[2]) };
}

export const cancelRequested = (workDir: string): boolean => readCancel(workDir) !== undefined;

/**
 * The status of an attempt Slurm no longer knows, from the files it left. The same mapping as
 * for Slurm's own answer (a signal reads as Slurm's `ExitCode=0:N`), so the answer does not
 * change when Slurm forgets; only Slurm's reasons (TIMEOUT, OUT_OF_MEMORY) are not known here.
 */
export function forgottenStatus(externalId: string, record: SlurmAttemptRecord | undefined): AttemptStatus {
  if (!record) {
    return {
      state: 'lost',
      reason: `Slurm no longer knows job ${externalId} (it ended more than MinJobAge ago, and accounting is off)`,
    };
  }
  const cancelled = cancelRequested(record.workDir);
  const exit = readBatchExit(record.workDir);
  if (exit) {
    const view =
      'signal' in exit
        ? { state: 'FAILED', exitCode: 0, signal: exit.signal }
        : { state: exit.code === 0 ? 'COMPLETED' : 'FAILED', exitCode: exit.code, signal: 0 };
    return attemptStatusOf({ ...view, stdOut: record.logPath, reason: undefined }, cancelled);
  }
  // A job cancelled before it ran (or killed outright after Falaj's cancel) writes nothing.
  if (cancelled) {
    return { state: 'cancelled', reason: `cancelled by Falaj; Slurm has since forgotten job ${externalId}` };
  }
  return {
    state: 'lost',
    reason:
      `Slurm forgot job ${externalId} before Falaj saw it end, and its batch script recorded no end ` +
      `in ${record.workDir}: it was killed outright or its node failed`,
  };
}
