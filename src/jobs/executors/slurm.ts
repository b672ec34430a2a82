// The Slurm executor: one sbatch job per attempt (or one array for many small attempts), state
// from `scontrol show job`, cancel with scancel. Slurm keeps the state, so a new executor
// instance after a server restart needs nothing but the job id. The attempt's workDir must be
// on a filesystem the Slurm nodes share (the log is written there by the node).

import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FalajError } from '../../core/errors.js';
import type { AttemptStatus, Executor, ExecutorCapabilities, LaunchRequest, NodeCapacity } from '../types.js';
import { tailFile } from './file-tail.js';
import { readCancel, writeJsonAtomic } from './local-attempt-files.js';
import { buildProcessEnv, DEFAULT_INHERITED_ENV } from './process-env.js';
import { shellQuote } from './shell-quote.js';
import { batchScript, sbatchArgs, taskEnvFile } from './slurm-batch.js';
import { SlurmCli, type SlurmCommand } from './slurm-cli.js';
import {
  attemptStatusOf,
  jobView,
  nodeUsable,
  nodeView,
  parseScontrolLine,
  type SlurmJobView,
} from './slurm-state.js';

export interface SlurmExecutorOptions {
  /** The partition jobs go to; Slurm's default partition when absent. */
  readonly partition?: string;
  /** Falaj gpuType → the cluster's gres type name, where they differ. */
  readonly gpuTypes?: Readonly<Record<string, string>>;
  /** More sbatch options, e.g. ['--account=ml', '--qos=normal']. */
  readonly extraSbatchArgs?: readonly string[];
  /** Variables passed through from the server's environment. Default: PATH, HOME, locale... */
  readonly inheritEnv?: readonly string[];
  /** After the full scancel, how long to wait for the job to end (Slurm's KillWait runs in between). Default 120. */
  readonly cancelWaitSeconds?: number;
  /** Paths of the Slurm commands where they are not on PATH. */
  readonly bin?: Partial<Record<SlurmCommand, string>>;
}

export interface ArraySubmitOptions {
  /** At most this many tasks run at once (`%M`). */
  readonly maxConcurrent?: number;
  /** Where the array's per-task links live; default: beside the first attempt's workDir. */
  readonly dir?: string;
}

const CAPABILITIES: ExecutorCapabilities = { gpus: true, multiNode: true, arrays: true, liveLogs: true };
const JOB_ID = /^\d+(_\d+)?$/;

export class SlurmExecutor implements Executor {
  readonly kind = 'slurm' as const;
  readonly capabilities = CAPABILITIES;
  readonly #opts: SlurmExecutorOptions;
  readonly #cli: SlurmCli;

  constructor(opts: SlurmExecutorOptions = {}) {
    this.#opts = opts;
    this.#cli = new SlurmCli(opts.bin);
  }

  async discover(): Promise<NodeCapacity[]> {
    const out = await this.#cli.check('scontrol', ['show', 'node', '-o']);
    const reverse = Object.fromEntries(Object.entries(this.#opts.gpuTypes ?? {}).map(([k, v]) => [v, k]));
    const nodes: NodeCapacity[] = [];
    for (const line of out.split('\n')) {
      if (!line.trim()) continue;
      const n = nodeView(parseScontrolLine(line));
      if (!n.name || !nodeUsable(n.state)) continue;
      if (this.#opts.partition && !n.partitions.includes(this.#opts.partition)) continue;
      const gpus: Record<string, number[]> = {};
      for (const [type, count] of Object.entries(n.gpus)) {
        // Slurm picks the indices itself; these only count the node's GPUs of each type.
        gpus[reverse[type] ?? (type || 'gpu')] = Array.from({ length: count }, (_, i) => i);
      }
      nodes.push({
        nodeId: n.name,
        cpu: n.cpus,
        memory: n.memoryMiB * 1024 * 1024,
        gpus,
        labels: { executor: 'slurm', partitions: n.partitions.join(','), state: n.state },
      });
    }
    return nodes;
  }

  async start(req: LaunchRequest): Promise<{ externalId: string }> {
    mkdirSync(req.workDir, { recursive: true });
    const env = buildProcessEnv(req, this.#opts.inheritEnv ?? DEFAULT_INHERITED_ENV);
    const cwd = req.spec.workdir ?? req.workDir;
    const script = path.join(req.workDir, 'falaj-job.sh');
    writeFileSync(
      script,
      batchScript(req.spec, { title: `Falaj job ${req.jobId}, attempt ${req.attempt}`, cwd }),
    );
    const args = sbatchArgs(req.spec, {
      jobName: jobName(req),
      outputPath: path.join(req.workDir, 'output.log'),
      chdir: cwd,
      exportNames: Object.keys(env).sort(),
      ...this.#common(),
    });
    const externalId = await this.#submit([...args, script], env);
    return { externalId };
  }

  /**
   * Many small attempts of one spec (tuning trials) as one Slurm job array. The requests must
   * share command, resources and workdir; their env may differ: variables equal in all go
   * through `--export`, the rest into a 0600 file in each attempt's workDir that its task reads.
   * Returns the externalIds (`<arrayId>_<index>`) in the order of `reqs`.
   */
  async submitArray(
    reqs: readonly LaunchRequest[],
    opts: ArraySubmitOptions = {},
  ): Promise<{ externalId: string }[]> {
    const first = reqs[0];
    if (!first) throw new FalajError('FALAJ_INVALID_ARGUMENT', 'an array needs at least one attempt');
    for (const r of reqs) {
      const same =
        JSON.stringify(r.spec.command) === JSON.stringify(first.spec.command) &&
        JSON.stringify(r.spec.resources) === JSON.stringify(first.spec.resources) &&
        r.spec.workdir === first.spec.workdir &&
        r.spec.maxRuntimeSeconds === first.spec.maxRuntimeSeconds &&
        !r.spec.distributed;
      if (!same) {
        throw new FalajError(
          'FALAJ_INVALID_ARGUMENT',
          'the attempts of an array must share command, resources, workdir and max runtime, and not be distributed',
          { jobId: r.jobId },
        );
      }
    }
    const envs = reqs.map((r) => buildProcessEnv(r, this.#opts.inheritEnv ?? DEFAULT_INHERITED_ENV));
    const common: Record<string, string> = {};
    for (const [k, v] of Object.entries(envs[0] ?? {})) if (envs.every((e) => e[k] === v)) common[k] = v;

    const dir = opts.dir ?? path.join(path.dirname(first.workDir), `.falaj-array-${randomUUID()}`);
    mkdirSync(dir, { recursive: true });
    reqs.forEach((r, i) => {
      mkdirSync(r.workDir, { recursive: true });
      const own = Object.fromEntries(Object.entries(envs[i] ?? {}).filter(([k]) => !(k in common)));
      const envFile = path.join(r.workDir, 'falaj-task.env');
      writeFileSync(envFile, taskEnvFile(own), { mode: 0o600 });
      chmodSync(envFile, 0o600);
      const link = path.join(dir, String(i));
      if (!existsSync(link)) symlinkSync(path.resolve(r.workDir), link);
    });
    const script = path.join(dir, 'falaj-array.sh');
    const taskDir = `${shellQuote(dir)}/"$SLURM_ARRAY_TASK_ID"`;
    writeFileSync(
      script,
      batchScript(first.spec, {
        title: `Falaj array of ${reqs.length} attempts (${first.jobId}...)`,
        cwd: first.spec.workdir ?? dir,
        // A task without a workdir of its own runs in its attempt's directory.
        ...(first.spec.workdir ? {} : { cwdShellWord: taskDir }),
        taskEnvFile: `${taskDir}/falaj-task.env`,
      }),
    );
    const args = sbatchArgs(first.spec, {
      jobName: jobName(first),
      outputPath: path.join(dir, '%a', 'output.log'),
      chdir: first.spec.workdir ?? dir,
      exportNames: Object.keys(common).sort(),
      array: { size: reqs.length, ...(opts.maxConcurrent ? { maxConcurrent: opts.maxConcurrent } : {}) },
      ...this.#common(),
    });
    const arrayId = await this.#submit([...args, script], common);
    return reqs.map((_, i) => ({ externalId: `${arrayId}_${i}` }));
  }

  async status(externalId: string): Promise<AttemptStatus> {
    const job = await this.#show(externalId);
    if (!job) {
      return {
        state: 'lost',
        reason: `Slurm no longer knows job ${externalId} (it ended more than MinJobAge ago, and accounting is off)`,
      };
    }
    return attemptStatusOf(job, this.#cancelRequested(job));
  }

  async cancel(externalId: string, opts: { graceSeconds: number }): Promise<void> {
    let job = await this.#show(externalId);
    if (!job || ended(job)) return;
    // Written before any signal so that however the job ends, it reads as cancelled by Falaj.
    const dir = job.stdOut ? path.dirname(job.stdOut) : undefined;
    if (dir && existsSync(dir) && !readCancel(dir)) {
      writeJsonAtomic(path.join(dir, 'cancel.json'), {
        requestedAt: new Date().toISOString(),
        graceSeconds: opts.graceSeconds,
      });
    }
    if (job.state !== 'PENDING') {
      // --full: the batch script itself and all its steps get SIGTERM, not only srun steps.
      await this.#cli.run('scancel', ['--signal=TERM', '--full', externalId]);
      const deadline = Date.now() + Math.max(0, opts.graceSeconds) * 1000;
      while (Date.now() < deadline) {
        job = await this.#show(externalId);
        if (!job || ended(job)) return;
        await sleep(200);
      }
    }
    // The full cancel: Slurm signals again and kills after its KillWait.
    await this.#cli.run('scancel', [externalId]);
    const deadline = Date.now() + (this.#opts.cancelWaitSeconds ?? 120) * 1000;
    while (Date.now() < deadline) {
      job = await this.#show(externalId);
      if (!job || ended(job)) return;
      await sleep(200);
    }
  }

  async *logs(externalId: string, opts?: { follow?: boolean }): AsyncIterable<Uint8Array> {
    const job = await this.#show(externalId);
    if (!job?.stdOut) {
      throw new FalajError(
        'FALAJ_NOT_FOUND',
        `Slurm no longer knows job ${externalId}, so not where its log is`,
        {
          kind: 'attempt',
          id: externalId,
        },
      );
    }
    yield* tailFile(job.stdOut, {
      follow: opts?.follow ?? false,
      ended: async () => {
        const s = await this.status(externalId);
        return s.state !== 'pending' && s.state !== 'running';
      },
    });
  }

  async close(): Promise<void> {
    // Nothing held: every call asks Slurm afresh.
  }

  #common() {
    return {
      ...(this.#opts.partition ? { partition: this.#opts.partition } : {}),
      ...(this.#opts.gpuTypes ? { gpuTypes: this.#opts.gpuTypes } : {}),
      ...(this.#opts.extraSbatchArgs ? { extraArgs: this.#opts.extraSbatchArgs } : {}),
    };
  }

  async #submit(args: readonly string[], env: Record<string, string>): Promise<string> {
    // sbatch itself needs the server's Slurm settings (SLURM_CONF...); the job gets only --export's names.
    const r = await this.#cli.run('sbatch', args, { ...process.env, ...env });
    const id = r.stdout.trim().split(';')[0] ?? '';
    if (r.code !== 0 || !JOB_ID.test(id)) {
      throw new FalajError(
        'FALAJ_INVALID_ARGUMENT',
        `Slurm refused the job: ${r.stderr.trim() || r.stdout.trim()}`,
        {
          stderr: r.stderr.trim(),
        },
      );
    }
    return id;
  }

  async #show(externalId: string): Promise<SlurmJobView | undefined> {
    if (!JOB_ID.test(externalId)) {
      throw new FalajError('FALAJ_INVALID_ARGUMENT', `'${externalId}' is not a Slurm job id`, { externalId });
    }
    const r = await this.#cli.run('scontrol', ['show', 'job', '-o', externalId]);
    if (r.code !== 0) {
      if (/Invalid job id/i.test(r.stderr)) return undefined;
      throw new FalajError('FALAJ_UNREACHABLE', `scontrol show job ${externalId} failed: ${r.stderr.trim()}`);
    }
    const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
    const fields = lines.map(parseScontrolLine);
    const [arrayJob, task] = externalId.split('_');
    const match =
      fields.find((f) =>
        task === undefined ? f.JobId === externalId : f.ArrayJobId === arrayJob && f.ArrayTaskId === task,
      ) ?? fields[0];
    return match ? jobView(match) : undefined;
  }

  #cancelRequested(job: SlurmJobView): boolean {
    return job.stdOut !== undefined && readCancel(path.dirname(job.stdOut)) !== undefined;
  }
}

function ended(job: SlurmJobView): boolean {
  const s = attemptStatusOf(job, false).state;
  return s !== 'pending' && s !== 'running';
}

function jobName(req: LaunchRequest): string {
  return `falaj-${req.jobId}-${req.attempt}`.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 120);
}
