import type { FalajClient } from '../../client/index.js';
import { FalajError } from '../../core/errors.js';
import { isTerminalState } from '../../jobs/types.js';
import { Falaj } from '../../sdk/falaj.js';
import { familyOfChoice, type ModelChoice } from '../../training/families/index.js';
import { type TuneResult, tune } from '../../training/tuning/index.js';

interface JobView {
  id: string;
  state: string;
  reason: string | null;
  runId: string;
}

/**
 * `falaj train --tune N --trial-jobs K`: the study runs here (tuning/tune.ts, as for trials in
 * one process), and each trial is a job (K at once) running `falaj train` with the trial's
 * params on the same hold-out split; the trial's value is the validation loss its job logged to
 * its run (a nested run of the study's run). Pruning needs intermediate values inside one
 * process, so trials run as jobs are not pruned.
 */
export async function tuneWithTrialJobs(
  client: FalajClient,
  o: {
    /** The arguments of every trial's `falaj train` (the same for all: params go in the spec's env). */
    trainArgs: () => string[];
    model: ModelChoice;
    regression: boolean;
    trials: number;
    parallelism: number;
    sampler: 'tpe' | 'random';
    space?: unknown;
    baseParams: Record<string, unknown>;
    seed: number;
    experiment: string;
    jobSpec: (command: string[], name: string, params: Record<string, unknown>) => Record<string, unknown>;
    progress?: (done: number, total: number) => void;
  },
): Promise<TuneResult & { studyRunId: string }> {
  if (!client.project)
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      '--trial-jobs needs a project: pass --project or set FALAJ_PROJECT',
      {
        parameter: 'project',
      },
    );
  const jobsUrl = `/api/v1/projects/${encodeURIComponent(client.project)}/jobs`;
  const falaj = new Falaj({
    url: client.url,
    ...(client.token ? { token: client.token } : {}),
    project: client.project,
  });
  const study = await falaj.startRun({
    experiment: o.experiment,
    name: `study-${o.model}`,
    runId: null,
    tags: { 'falaj.study': 'trial-jobs' },
  });
  const metric = o.regression ? 'rmse' : 'logloss';
  try {
    const result = await tune({
      space: o.space ?? familyOfChoice(o.model).tuning.space,
      nTrials: o.trials,
      sampler: o.sampler,
      seed: o.seed,
      concurrency: o.parallelism,
      baseParams: o.baseParams,
      runTrial: async (params, trial) => {
        const job = await client.post<JobView>(jobsUrl, {
          spec: o.jobSpec(o.trainArgs(), `trial-${trial.number}`, params),
          experiment: o.experiment,
          parentRunId: study.id,
        });
        let state = job;
        while (!isTerminalState(state.state)) {
          await new Promise((r) => setTimeout(r, 500));
          state = await client.get<JobView>(`${jobsUrl}/${job.id}`);
        }
        if (state.state !== 'succeeded')
          throw new Error(`trial job ${job.id} ${state.state}: ${state.reason ?? ''}`);
        const run = await falaj.getRun(job.runId);
        const m = run.data.metrics.find((x) => x.key === metric);
        if (!m) throw new Error(`trial job ${job.id} logged no ${metric}`);
        return { value: o.regression ? m.value ** 2 : m.value };
      },
      onTrialComplete: (_t, done) => o.progress?.(done, o.trials),
    });
    study.logParams({ trials: o.trials, parallelism: o.parallelism, sampler: o.sampler });
    study.logMetric(`best_valid_${o.regression ? 'mse' : 'logloss'}`, result.best.value as number);
    study.setTags({ 'falaj.study.best_params': JSON.stringify(result.best.params) });
    await study.end('FINISHED');
    return { ...result, studyRunId: study.id };
  } catch (err) {
    await study.end('FAILED').catch(() => {});
    throw err;
  }
}
