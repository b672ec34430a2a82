// Which attempts of one scheduling pass start together as a job array. Tuning trials are the
// case: the same command, resources and working directory, differing only in their environment
// (the trial's params, run id, token). Slurm starts such a group as one `sbatch --array`, one
// submission instead of one each; other executors start attempts one by one.
import type { JobRow } from '../job-store.js';
import type { LaunchRequest } from '../types.js';

/** An admitted attempt with its launch request, ready to start. */
export interface Prepared {
  readonly admitted: JobRow;
  readonly req: LaunchRequest;
}

/** What an array's attempts must share (SlurmExecutor.submitArray checks the same). */
function arrayKey(req: LaunchRequest): string | undefined {
  const { spec } = req;
  // A gang is its own allocation, never an array task.
  if (spec.distributed) return undefined;
  return JSON.stringify([spec.command, spec.resources, spec.workdir ?? null, spec.maxRuntimeSeconds ?? null]);
}

/**
 * Groups in admission order: with arrays, alike attempts form one group (its place is its first
 * member's); every other attempt is a group of its own.
 */
export function launchGroups(prepared: readonly Prepared[], arrays: boolean): Prepared[][] {
  if (!arrays) return prepared.map((p) => [p]);
  const groups: Prepared[][] = [];
  const byKey = new Map<string, Prepared[]>();
  for (const p of prepared) {
    const key = arrayKey(p.req);
    const group = key === undefined ? undefined : byKey.get(key);
    if (group) {
      group.push(p);
      continue;
    }
    const fresh = [p];
    groups.push(fresh);
    if (key !== undefined) byKey.set(key, fresh);
  }
  return groups;
}
