import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { FalajApiError, type FalajClient } from '../../client/index.js';
import { FalajError } from '../../core/errors.js';
import { Falaj } from '../../sdk/falaj.js';
import type { Run } from '../../sdk/run.js';
import { isModelChoice, MODEL_CHOICES, type ModelChoice } from '../../training/families/index.js';
import type { Frame } from '../../training/frame.js';
import { loadFrame } from '../../training/load/index.js';
import { loadModel } from '../../training/model-file.js';
import { runTraining, type TrainObserver, type TrainRequest } from '../../training/run-training.js';
import { uploadFileAsCode } from '../code-upload.js';
import { cliClient, reportError } from '../remote.js';
import { downloadVersion, parseTrainingDataRef, usableVersion, type VersionInfo } from './data-source.js';
import { inputRecorded, recordRunInput } from './lineage.js';
import { tuneWithTrialJobs } from './train-trial-jobs.js';

const CHOICE_NAMES = Object.keys(MODEL_CHOICES);

/** bin/falaj.js, from dist/cli/commands/ or src/cli/commands/ alike. */
const CLI_SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/falaj.js');

function parseNumber(name: string, value: string | undefined, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n)))
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      `--${name} must be ${integer ? 'an integer' : 'a number'} (got '${value}')`,
      {
        parameter: name,
      },
    );
  return n;
}

function parseJson(name: string, value: string | undefined): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(value);
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // falls through
  }
  throw new FalajError(
    'FALAJ_INVALID_ARGUMENT',
    `--${name} must be a JSON object (got '${value.slice(0, 80)}')`,
    { parameter: name },
  );
}

const list = (v: string | undefined) =>
  v
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;

/** A progress bar on a terminal (stderr), nothing otherwise: --json output stays one document. */
function progressBar(enabled: boolean): { update: TrainObserver['progress']; stop(): void } {
  if (!enabled || !process.stderr.isTTY) return { update: undefined, stop() {} };
  const bar = new cliProgress.SingleBar(
    { format: '{phase} [{bar}] {value}/{total}', stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let phase = '';
  return {
    update(p, done, total) {
      if (p !== phase) {
        if (phase) bar.stop();
        phase = p;
        bar.start(total, done, { phase: p.padEnd(8) });
      } else bar.update(done);
    },
    stop: () => bar.stop(),
  };
}

/** Logs a training into tracking: the study's run, one nested run per trial, the model files. */
async function tracker(
  opts: Record<string, string | undefined>,
  req: TrainRequest,
): Promise<{ run: Run; observer: TrainObserver; falaj: Falaj } | undefined> {
  if (!opts.experiment && !process.env.FALAJ_RUN_ID) return undefined;
  // The server and credentials the other CLI commands use (flags, FALAJ_*, the login file).
  const cli = cliClient(opts);
  const falaj = new Falaj({
    url: cli.url,
    ...(cli.token ? { token: cli.token } : {}),
    ...(cli.project ? { project: cli.project } : {}),
  });
  const run = await falaj.startRun({
    ...(opts.experiment ? { experiment: opts.experiment } : {}),
    name: opts.runName ?? `train-${req.model ?? 'gbdt'}`,
    tags: { 'falaj.source': 'falaj train' },
  });
  const observer: TrainObserver = {
    logParams: (p) => run.logParams(p),
    logMetric: (key, value, step) => run.logMetric(key, value, step === undefined ? {} : { step }),
    async trialComplete(t, study) {
      const child = await falaj.startRun({
        runId: null,
        parentRunId: run.id,
        experimentId: run.info.experiment_id,
        name: `trial-${t.number}`,
        tags: { 'falaj.trial.number': String(t.number), 'falaj.trial.state': t.state },
      });
      child.logParams(
        Object.fromEntries(Object.entries(t.params).map(([k, v]) => [k, v as string | number | boolean])),
      );
      for (const iv of t.intermediateValues) child.logMetric(study.metric, iv.value, { step: iv.step });
      if (t.value !== null && t.value !== undefined && Number.isFinite(t.value))
        child.logMetric(`best_${study.metric}`, t.value);
      await child.end(t.state === 'failed' ? 'FAILED' : t.state === 'pruned' ? 'KILLED' : 'FINISHED');
    },
  };
  return { run, observer, falaj };
}

// Options that describe the training itself, passed on to the job's own `falaj train`.
const PASS_ON = [
  'data',
  'target',
  'model',
  'features',
  'exclude',
  'weight',
  'cv',
  'holdout',
  'tune',
  'sampler',
  'pruner',
  'space',
  'params',
  'seed',
  'threads',
  'runName',
] as const;

/**
 * `falaj train --submit`: the same command as a job. A --data file on this machine travels with
 * the job as its code snapshot (the job's sandbox shows it nothing else, and an agent or Slurm
 * node may be another machine); a path that is not here is taken as one on the executor's side
 * (a folder the server shows jobs with --job-paths). The job's `falaj train` attaches to the
 * job's run through FALAJ_RUN_ID and logs params, metrics, trials and the model into it.
 */
async function submitTraining(
  opts: Record<string, string | undefined>,
): Promise<{ id: string; runId: string }> {
  const client = cliClient(opts);
  if (!client.project)
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      '--submit needs a project: pass --project or set FALAJ_PROJECT',
      {
        parameter: 'project',
      },
    );
  const data = await shipData(client, opts);
  const spec = trainJobSpec(
    opts,
    [...passOn(opts, [], data.arg), '--out', 'model', '--json'],
    opts.runName ?? `train-${opts.model ?? 'gbdt'}`,
    data.code,
  );
  const jobsUrl = `/api/v1/projects/${encodeURIComponent(client.project)}/jobs`;
  const job = await client.post<{ id: string; runId: string }>(jobsUrl, {
    spec,
    ...(opts.experiment ? { experiment: opts.experiment } : {}),
  });
  if (data.version) {
    // The job's run reads the version: recorded now with the submitter's credentials (a job's
    // own token may change only its run's logs). A refusal (the version failed meanwhile)
    // cancels the job rather than leave it training on unrecorded data.
    try {
      await recordRunInput(client, job.runId, data.version);
    } catch (err) {
      await client.post(`${jobsUrl}/${job.id}/cancel`).catch(() => {});
      throw err;
    }
  }
  return job;
}

/**
 * What a job's `--data` is: a dataset version, checked against the training gate here and passed
 * on pinned to its number (`NAME@N`: the job reads that version from the server); else the file
 * shipped as its code snapshot when it is on this machine.
 */
async function shipData(
  client: FalajClient,
  opts: Record<string, string | undefined>,
): Promise<{ arg: string; code?: { artifact: string }; version?: VersionInfo }> {
  const ref = parseTrainingDataRef(opts.data ?? '');
  if (ref) {
    const version = await usableVersion(client, ref);
    return { arg: `${version.dataset}@${version.version}`, version };
  }
  const file = path.resolve(opts.data ?? '');
  if (!existsSync(file) || !statSync(file).isFile()) return { arg: file };
  return { arg: path.basename(file), code: { artifact: await uploadFileAsCode(client, file) } };
}

/** The job spec of one `falaj train` run on the server's executor. */
function trainJobSpec(
  opts: Record<string, string | undefined>,
  args: string[],
  name: string,
  code?: { artifact: string },
) {
  return {
    name,
    command: [process.execPath, CLI_SCRIPT, 'train', ...args],
    queue: opts.queue ?? 'default',
    resources: { cpu: opts.threads ? Number(opts.threads) : 1, memory: '4Gi' },
    ...(code ? { code } : {}),
  };
}

/** The options passed on to a job's own `falaj train`, minus those the caller sets. */
function passOn(
  opts: Record<string, string | undefined>,
  skip: readonly string[],
  dataArg: string,
): string[] {
  const args: string[] = [];
  for (const key of PASS_ON) {
    const value = opts[key];
    if (value === undefined || skip.includes(key)) continue;
    args.push(`--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, key === 'data' ? dataArg : value);
  }
  return args;
}

async function trialJobs(opts: Record<string, string | undefined>, bar: ReturnType<typeof progressBar>) {
  const trials = Number(opts.tune);
  const k = Number(opts.trialJobs);
  if (!Number.isInteger(trials) || trials < 1)
    throw new FalajError('FALAJ_INVALID_ARGUMENT', '--trial-jobs needs --tune N (N ≥ 1)', {
      parameter: 'tune',
    });
  if (!Number.isInteger(k) || k < 1 || k > 64)
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      `--trial-jobs must be between 1 and 64 (got '${opts.trialJobs}')`,
      {
        parameter: 'trial-jobs',
      },
    );
  const model = (opts.model ?? 'gbdt') as ModelChoice;
  const seed = Number(opts.seed ?? 0);
  const client = cliClient(opts);
  const data = await shipData(client, opts);
  const base = passOn(
    opts,
    ['tune', 'sampler', 'pruner', 'space', 'params', 'cv', 'holdout', 'seed', 'runName'],
    data.arg,
  );
  try {
    const result = await tuneWithTrialJobs(client, {
      model,
      regression: MODEL_CHOICES[model].needs?.target === 'numeric',
      trials,
      parallelism: k,
      sampler: (opts.sampler ?? 'tpe') as 'tpe' | 'random',
      ...(opts.space ? { space: parseJson('space', opts.space) } : {}),
      baseParams: parseJson('params', opts.params) ?? {},
      seed,
      experiment: opts.experiment ?? 'tuning',
      // Every trial is judged on the same hold-out rows: the split depends on the seed only.
      trainArgs: () => [...base, '--holdout', '0.2', '--seed', String(seed), '--json'],
      jobSpec: (command, name, params) => ({
        ...trainJobSpec(opts, command, name, data.code),
        env: { FALAJ_TRAIN_PARAMS: JSON.stringify(params) },
      }),
      ...(bar.update ? { progress: (done: number, total: number) => bar.update?.('tune', done, total) } : {}),
    });
    // Each trial job reads the pinned version; the study's run records it as its input.
    if (data.version) await recordRunInput(client, result.studyRunId, data.version);
    return {
      studyRunId: result.studyRunId,
      trials: result.trials.length,
      complete: result.counts.complete,
      bestValue: result.best.value as number,
      bestParams: result.best.params,
    };
  } finally {
    bar.stop();
  }
}

/**
 * Records the dataset version as the run's input on the server (its MLflow input and the lineage
 * edge dataset_version → run). In a job (a run attached through FALAJ_RUN_ID) the submitter may
 * have recorded it already; and a job's own token may change only its run's logs, so a refusal
 * there is a warning, not a failed training.
 */
async function recordInput(client: FalajClient, run: Run, v: VersionInfo): Promise<void> {
  if (run.attached && (await inputRecorded(client, run.id, v.digest))) return;
  try {
    await recordRunInput(client, run.id, v);
  } catch (err) {
    if (!(run.attached && err instanceof FalajApiError && err.errorCode === 'FALAJ_FORBIDDEN')) throw err;
    process.stderr.write(
      `warning: ${v.dataset}@${v.version} not recorded as the input of run ${run.id}: ${err.message}\n`,
    );
  }
}

export function registerTrainCommands(program: Command): void {
  program
    .command('train')
    .description(
      'Train a model on a CSV or Parquet file: evaluate it honestly, tune it, write it (native + ONNX)',
    )
    .requiredOption(
      '--data <file|NAME@N>',
      'CSV or Parquet file, or a dataset version on the server: NAME@N, NAME@latest, or NAME (its newest); a version that failed its suite is refused',
    )
    .requiredOption('--target <column>', 'the column to predict')
    .option('--model <kind>', CHOICE_NAMES.join(' | '), 'gbdt')
    .option('--features <cols>', 'comma-separated feature columns (default: all but the target)')
    .option('--exclude <cols>', 'comma-separated columns to leave out (ids, leaks)')
    .option('--weight <column>', 'a column of row weights')
    .option('--cv <k>', 'k-fold cross-validation (stratified for classes)')
    .option('--holdout <fraction>', 'fraction held out for evaluation when --cv is not given', '0.2')
    .option('--tune <n>', 'tuning trials (TPE by default)')
    .option('--sampler <kind>', 'tpe | random', 'tpe')
    .option('--pruner <kind>', 'none | median | successive-halving', 'none')
    .option('--space <json>', 'search space as JSON (default: the model’s usual parameters)')
    .option(
      '--params <json>',
      'fixed model parameters as JSON, e.g. {"nRounds":200,"maxLeaves":63} (default: FALAJ_TRAIN_PARAMS, how a trial job gets its params)',
    )
    .option('--seed <n>', 'seed for splits, sampling and tuning', '0')
    .option('--threads <n>', 'threads for gradient-boosted trees (default: all cores)')
    .option('--out <dir>', 'model directory to write (model.json, arrays.bin, model.onnx)')
    .option(
      '--experiment <name>',
      'log the training (and each trial as a nested run) to this tracking experiment',
    )
    .option('--run-name <name>', 'name of the tracking run')
    .option('--url <url>', 'server URL for tracking (default: FALAJ_URL or the login file)')
    .option('--token <token>', 'API token for tracking (default: FALAJ_TOKEN or the login file)')
    .option('--project <name>', 'project for tracking (default: FALAJ_PROJECT or the token’s own)')
    .option('--submit', 'run the training as a job on the server (it logs into the job’s tracking run)')
    .option(
      '--trial-jobs <k>',
      'with --tune: run each trial as a job on the server, k at once (nested runs of a study run)',
    )
    .option('--queue <queue>', 'queue for --submit (default "default")')
    .option('--json', 'print one JSON document')
    .action(async (opts: Record<string, string | undefined>) => {
      const json = opts.json !== undefined;
      // Trial jobs get their params in the environment, so that their commands are alike and
      // Slurm can start a pass's trials as one job array.
      if (opts.params === undefined && process.env.FALAJ_TRAIN_PARAMS)
        opts.params = process.env.FALAJ_TRAIN_PARAMS;
      if (opts.trialJobs !== undefined) {
        try {
          const out = await trialJobs(opts, progressBar(!json));
          if (json) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
          else
            process.stdout.write(
              `tuning: ${out.trials} trial jobs, best valid loss ${out.bestValue.toFixed(5)} with ${JSON.stringify(out.bestParams)}\nstudy run: ${out.studyRunId}\n`,
            );
        } catch (err) {
          reportError(err, json);
        }
        return;
      }
      if (opts.submit !== undefined) {
        try {
          const job = await submitTraining(opts);
          if (json) process.stdout.write(`${JSON.stringify(job, null, 2)}\n`);
          else process.stdout.write(`${job.id}\n`);
        } catch (err) {
          reportError(err, json);
        }
        return;
      }
      let tracked: Awaited<ReturnType<typeof tracker>>;
      let dataDir: string | undefined;
      const bar = progressBar(!json);
      try {
        const model = (opts.model ?? 'gbdt') as ModelChoice;
        if (!isModelChoice(model))
          throw new FalajError(
            'FALAJ_INVALID_ARGUMENT',
            `--model must be ${CHOICE_NAMES.slice(0, -1).join(', ')} or ${CHOICE_NAMES.at(-1)} (got '${model}')`,
            { parameter: 'model' },
          );
        const cv = parseNumber('cv', opts.cv, true);
        // A dataset version is read from the server, through the training gate, before any run starts.
        const ref = parseTrainingDataRef(opts.data as string);
        let source: { version: VersionInfo; file: string } | undefined;
        if (ref) {
          const client = cliClient(opts);
          const version = await usableVersion(client, ref);
          dataDir = await mkdtemp(path.join(os.tmpdir(), 'falaj-train-data-'));
          source = { version, file: await downloadVersion(client, version, dataDir) };
        }
        const req: TrainRequest = {
          data: source ? source.file : (opts.data as string),
          target: opts.target as string,
          model,
          ...(list(opts.features) ? { features: list(opts.features) as string[] } : {}),
          ...(list(opts.exclude) ? { exclude: list(opts.exclude) as string[] } : {}),
          ...(opts.weight ? { weight: opts.weight } : {}),
          ...(cv !== undefined ? { cv } : { holdout: parseNumber('holdout', opts.holdout, false) as number }),
          ...(opts.tune ? { tune: parseNumber('tune', opts.tune, true) as number } : {}),
          sampler: opts.sampler as 'tpe' | 'random',
          pruner: opts.pruner as 'none' | 'median' | 'successive-halving',
          ...(opts.space ? { space: parseJson('space', opts.space) } : {}),
          ...(opts.params ? { params: parseJson('params', opts.params) as Record<string, unknown> } : {}),
          seed: parseNumber('seed', opts.seed, true) as number,
          ...(opts.threads ? { nThreads: parseNumber('threads', opts.threads, true) as number } : {}),
          ...(opts.out ? { out: opts.out } : {}),
        };
        tracked = await tracker(opts, req);
        if (tracked && source) await recordInput(cliClient(opts), tracked.run, source.version);
        const result = await runTraining(req, {
          ...tracked?.observer,
          ...(bar.update ? { progress: bar.update } : {}),
        });
        bar.stop();
        if (tracked) {
          if (req.out) await tracked.run.logArtifacts(req.out, 'model');
          // A run Falaj made for a job (FALAJ_RUN_ID) is ended by whoever made it.
          if (tracked.run.attached) await tracked.run.flush();
          else await tracked.run.end('FINISHED');
        }
        const dataset = source
          ? { name: source.version.dataset, version: source.version.version, digest: source.version.digest }
          : undefined;
        const doc = {
          ...result,
          ...(dataset ? { dataset } : {}),
          ...(tracked ? { runId: tracked.run.id } : {}),
        };
        if (json) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
        else {
          const figures = Object.entries(result.metrics)
            .map(([k, v]) => `${k} ${v.toFixed(4)}`)
            .join('  ');
          const how =
            result.validation.kind === 'cv'
              ? `${result.validation.k}-fold CV mean`
              : `hold-out ${result.validation.fraction}`;
          process.stdout.write(
            `${result.model} on ${result.rows} rows (${result.task}), ${how}: ${figures}\n`,
          );
          if (result.tuning)
            process.stdout.write(
              `tuning: ${result.tuning.trials} trials (${result.tuning.pruned} pruned), best ${result.tuning.metric} ${result.tuning.bestValue.toFixed(5)}\n`,
            );
          if (dataset)
            process.stdout.write(
              `data: ${dataset.name}@${dataset.version} (sha256 ${dataset.digest.slice(0, 12)})\n`,
            );
          if (result.modelPath) process.stdout.write(`model: ${result.modelPath} (model.onnx beside it)\n`);
          if (tracked) process.stdout.write(`run: ${tracked.run.id}\n`);
        }
      } catch (err) {
        bar.stop();
        if (tracked && !tracked.run.attached) await tracked.run.end('FAILED').catch(() => {});
        if (dataDir) await rm(dataDir, { recursive: true, force: true });
        reportError(err, json);
      }
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    });

  program
    .command('predict')
    .description('Predict with a model directory on a CSV or Parquet file; writes CSV (stdout or --out)')
    .requiredOption('--model <dir>', 'model directory written by falaj train')
    .requiredOption('--data <file>', 'CSV or Parquet file with the model’s feature columns')
    .option('--out <file>', 'write the predictions here (CSV) instead of stdout')
    .option('--json', 'print JSON (rows of predictions) instead of CSV')
    .action(async (opts: Record<string, string | undefined>) => {
      const json = opts.json !== undefined;
      try {
        const { model } = await loadModel(opts.model as string);
        const frame: Frame = await loadFrame(opts.data as string, { columns: model.featureNames });
        const out = model.predict(frame);
        const k = model.task === 'regression' ? 1 : model.classes.length;
        const header =
          model.task === 'regression'
            ? ['prediction']
            : ['prediction', ...model.classes.map((c) => `p_${c}`)];
        const rows: (string | number)[][] = [];
        for (let i = 0; i < frame.nRows; i++) {
          if (model.task === 'regression') {
            rows.push([out[i] as number]);
            continue;
          }
          let best = 0;
          for (let c = 1; c < k; c++)
            if ((out[i * k + c] as number) > (out[i * k + best] as number)) best = c;
          rows.push([model.classes[best] as string, ...Array.from(out.subarray(i * k, i * k + k))]);
        }
        const text = json
          ? `${JSON.stringify(rows.map((r) => Object.fromEntries(header.map((h, j) => [h, r[j]]))))}\n`
          : `${[header, ...rows].map((r) => r.map((c) => (typeof c === 'string' && /[",\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : String(c))).join(',')).join('\n')}\n`;
        if (opts.out) await writeFile(opts.out, text);
        else process.stdout.write(text);
      } catch (err) {
        reportError(err, json);
      }
    });
}
