// A run created together with its experiment, found by name or created: what a job submission
// and a server-side training do in the same transaction as the rest of their work.
import type { ExperimentStore } from './experiment-store.js';
import type { RunStore } from './run-store.js';
import type { KeyValue } from './validation.js';

type Tx = Parameters<RunStore['create']>[0];

/** Creates a run in the project's experiment named `experiment` (created when missing). */
export async function createRunInExperiment(
  tx: Tx,
  stores: { experiments: ExperimentStore; runs: RunStore },
  p: {
    projectId: string;
    projectName: string;
    experiment: string;
    userId: string;
    runName: string;
    now: number;
    tags: KeyValue[];
  },
): Promise<{ experimentId: string; runId: string }> {
  const experimentId = await stores.experiments.getOrCreate(tx, {
    projectId: p.projectId,
    projectName: p.projectName,
    name: p.experiment,
    now: p.now,
  });
  const runId = await stores.runs.create(tx, {
    projectId: p.projectId,
    projectName: p.projectName,
    experimentId,
    userId: p.userId,
    runName: p.runName,
    startTime: p.now,
    tags: p.tags,
  });
  return { experimentId, runId };
}
