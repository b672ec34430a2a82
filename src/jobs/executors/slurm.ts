// The Slurm executor: one sbatch job per attempt (or one array for many small attempts), state
// from `scontrol show job`, cancel with scancel. Slurm forgets a job MinJobAge after it ends
// when there is no accounting database, so the executor keeps a small index (job id → workDir
// and log, slurm-index.ts) and the batch script records its end in the workDir: a new executor
// instance after a server restart still answers for old attempts. The attempt's workDir must
// be on a filesystem the Slurm nodes and the server share (the node writes the log there).

import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FalajError } from '../../core/errors.js';
import { networkOf, type SandboxPolicy, sandboxCommand } from '../sandbox/job-sandbox.js';
import type { AttemptStatus, Executor, ExecutorCapabilities, LaunchRequest, NodeCapacity } from '../types.js';
import { tailFile } from './file-tail.js';
import {
  attemptFiles,
  controlDir,
  prepareAttemptDirs,
  workDirOfControl,
  writeJsonAtomic,
} from './local-attempt-files.js';
import { attemptEnv } from './process-env.js';
import { shellQuote, shellQuoteArgv } from './shell-quote.js';
import { batchScript, EXIT_STATUS_FILE, sbatchArgs, taskEnvFile } from './slurm-batch.js';
import { SlurmCli, type SlurmCommand } from './slurm-cli.js';
import {
  cancelRequested,
  forgottenStatus,
  JOB_ID,
  readAttemptRecord,
  type SlurmAttemptRecord,
  writeAttemptRecord,
} from './slurm-index.js';
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
  /**
   * Where the executor indexes its attempts (job id → workDir and log), to answer for them once
   * Slurm has forgotten the job. Must outlive the server process. Default: under os.tmpdir().
   */
  readonly stateDir?: string;
  /**
   * The sandbox each attempt runs in on its node (job-sandbox.ts; the nodes need bubblewrap and,
   * where jobs run as root, the falaj-job user). Absent only with --unsafe-unsandboxed-jobs.
   */
  readonly sandbox?: SandboxPolicy;
}

export interface ArraySubmitOptions {
  /** At most this many tasks run at once (`%M`). */
  readonly maxConcurrent?: number;
  /** Where the array's per-task links live; default: beside the first attempt's workDir. */
  readonly dir?: string;
}

const CAPABILITIES: ExecutorCapabilities = {
  gpus: true,
  multiNode: true,
  arrays: true,
  liveLogs: true,
  seesServerDisk: true,
};

export class SlurmExecutor implements Executor {
  readonly kind = 'slurm' as const;
  readonly capabilities = CAPABILITIES;
  readonly #opts: SlurmExecutorOptions;
  readonly #cli: SlurmCli;
  readonly #stateDir: string;

  constructor(opts: SlurmExecutorOptions = {}) {
    this.#opts = opts;
    this.#cli = new SlurmCli(opts.bin);
    this.#stateDir = opts.stateDir ?? path.join(os.tmpdir(), 'falaj-slurm');
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
    this.#prepareWorkDir(req);
    const env = attemptEnv(req, this.#opts.sandbox, this.#opts.inheritEnv);
    const cwd = req.spec.workdir ?? req.workDir;
    const control = controlDir(req.workDir);
    const script = path.join(control, 'falaj-job.sh');
    const prefix = this.#sandboxPrefix(req, cwd);
    writeFileSync(
      script,
      batchScript(req.spec, {
        title: `Falaj job ${req.jobId}, attempt ${req.attempt}`,
        cwd,
        // Absolute: the script changes directory before it records its end.
        exitStatusFile: shellQuote(path.join(control, EXIT_STATUS_FILE)),
        ...(prefix ? { sandboxPrefix: shellQuoteArgv(prefix) } : {}),
      }),
    );
    const logPath = attemptFiles(req.workDir).log;
    const args = sbatchArgs(req.spec, {
      jobName: jobName(req),
      outputPath: logPath,
      chdir: cwd,
      exportNames: Object.keys(env).sort(),
      ...this.#common(),
    });
    const externalId = await this.#submit([...args, script], env);
    await this.#record([{ externalId, req, logPath }]);
    return { externalId };
  }

  /** The scheduler's alike attempts of one pass (src/jobs/loop/launch-groups.ts) as one job array. */
  startArray(reqs: readonly LaunchRequest[]): Promise<{ externalId: string }[]> {
    return this.submitArray(reqs);
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
    const envs = reqs.map((r) => attemptEnv(r, this.#opts.sandbox, this.#opts.inheritEnv));
    const common: Record<string, string> = {};
    for (const [k, v] of Object.entries(envs[0] ?? {})) if (envs.every((e) => e[k] === v)) common[k] = v;

    // Absolute: the tasks' script reads and writes through it after changing directory.
    const dir = path.resolve(
      opts.dir ?? path.join(path.dirname(first.workDir), `.falaj-array-${randomUUID()}`),
    );
    mkdirSync(dir, { recursive: true });
    reqs.forEach((r, i) => {
      this.#prepareWorkDir(r);
      const own = Object.fromEntries(Object.entries(envs[i] ?? {}).filter(([k]) => !(k in common)));
      const envFile = path.join(controlDir(r.workDir), 'falaj-task.env');
      const prefix = this.#sandboxPrefix(r, first.spec.workdir ?? r.workDir);
      const task = { dir: path.resolve(r.workDir), ...(prefix ? { sandboxPrefix: prefix } : {}) };
      writeFileSync(envFile, taskEnvFile(own, task), { mode: 0o600 });
      chmodSync(envFile, 0o600);
      // The task's link names its control dir: its env file, log and exit status (not the job's files).
      const link = path.join(dir, String(i));
      if (!existsSync(link)) symlinkSync(controlDir(r.workDir), link);
    });
    const script = path.join(dir, 'falaj-array.sh');
    const taskDir = `${shellQuote(dir)}/"$SLURM_ARRAY_TASK_ID"`;
    writeFileSync(
      script,
      batchScript(first.spec, {
        title: `Falaj array of ${reqs.length} attempts (${first.jobId}...)`,
        cwd: first.spec.workdir ?? dir,
        // A task without a workdir of its own runs in its attempt's directory (from its env file).
        ...(first.spec.workdir ? {} : { cwdShellWord: '"$falaj_task_dir"' }),
        taskEnvFile: `${taskDir}/falaj-task.env`,
        // Each task records its end in its own attempt's control dir (the link points there).
        exitStatusFile: `${taskDir}/${EXIT_STATUS_FILE}`,
        ...(this.#opts.sandbox ? { sandboxPrefix: '"$@"' } : {}),
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
    const tasks = reqs.map((req, i) => ({
      externalId: `${arrayId}_${i}`,
      req,
      logPath: attemptFiles(req.workDir).log,
    }));
    await this.#record(tasks);
    return tasks.map(({ externalId }) => ({ externalId }));
  }

  async status(externalId: string): Promise<AttemptStatus> {
    const job = await this.#show(externalId);
    const record = readAttemptRecord(this.#stateDir, externalId);
    if (!job) return forgottenStatus(externalId, record);
    const dir = this.#workDirOf(record, job);
    return attemptStatusOf(job, dir !== undefined && cancelRequested(dir));
  }

  async cancel(externalId: string, opts: { graceSeconds: number }): Promise<void> {
    let job = await this.#show(externalId);
    if (!job || ended(job)) return;
    // Written before any signal so that however the job ends, it reads as cancelled by Falaj,
    // also once Slurm has forgotten it (a pending job that never ran leaves no exit status).
    const dir = this.#workDirOf(readAttemptRecord(this.#stateDir, externalId), job);
    if (dir && existsSync(dir) && !cancelRequested(dir)) {
      writeJsonAtomic(attemptFiles(dir).cancel, {
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
    // The index first: it needs no Slurm, and knows the log after Slurm has forgotten the job.
    const logPath =
      readAttemptRecord(this.#stateDir, externalId)?.logPath ?? (await this.#show(externalId))?.stdOut;
    if (!logPath) {
      throw new FalajError(
        'FALAJ_NOT_FOUND',
        `neither Slurm nor this executor's index (${this.#stateDir}) knows job ${externalId}, so not where its log is`,
        { kind: 'attempt', id: externalId },
      );
    }
    yield* tailFile(logPath, {
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

  /** The sandbox command put before the argv in the batch script; undefined when unsandboxed. */
  #sandboxPrefix(req: LaunchRequest, cwd: string): string[] | undefined {
    const sandbox = this.#opts.sandbox;
    const network = networkOf(req, sandbox);
    if (!sandbox) return undefined;
    // The GPUs are Slurm's to pick (it sets CUDA_VISIBLE_DEVICES): every NVIDIA node is bound in,
    // and the cgroup Slurm's gres plugin sets up (where configured) limits the job to its own.
    const gpus = req.spec.resources.gpu > 0 ? Array.from({ length: 64 }, (_, i) => i) : [];
    return sandboxCommand(sandbox, { workDir: req.workDir, cwd, gpus, network }, []);
  }

  /** The attempt's directory and its control dir, without an end recorded by an earlier use of it. */
  #prepareWorkDir(req: LaunchRequest): void {
    prepareAttemptDirs(req.workDir, this.#opts.sandbox?.runAs);
    rmSync(path.join(controlDir(req.workDir), EXIT_STATUS_FILE), { force: true });
  }

  #common() {
    return {
      ...(this.#opts.partition ? { partition: this.#opts.partition } : {}),
      ...(this.#opts.gpuTypes ? { gpuTypes: this.#opts.gpuTypes } : {}),
      ...(this.#opts.extraSbatchArgs ? { extraArgs: this.#opts.extraSbatchArgs } : {}),
    };
  }

  /**
   * Records the submitted attempts in the index before start() returns. An attempt that cannot
   * be recorded is cancelled: Falaj could not answer for it once Slurm forgets it.
   */
  async #record(entries: readonly { externalId: string; req: LaunchRequest; logPath: string }[]) {
    const submittedAt = new Date().toISOString();
    try {
      for (const { externalId, req, logPath } of entries) {
        const record: SlurmAttemptRecord = {
          version: 1,
          externalId,
          jobId: req.jobId,
          attempt: req.attempt,
          workDir: path.resolve(req.workDir),
          logPath: path.resolve(logPath),
          submittedAt,
        };
        writeAttemptRecord(this.#stateDir, record);
      }
    } catch (err) {
      const jobIds = [...new Set(entries.map((e) => e.externalId.split('_')[0] as string))];
      await this.#cli.run('scancel', jobIds).catch(() => undefined);
      throw new FalajError(
        'FALAJ_INTERNAL',
        `cannot record Slurm job ${jobIds.join(', ')} in ${this.#stateDir}, so it was cancelled: ${(err as Error).message}`,
      );
    }
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
      // `slurm_load_jobs error: Invalid job id specified` (stderr) for a job id Slurm does not
      // know; `Job 12_3 not found` (stdout) for an array task it no longer knows.
      if (/Invalid job id/i.test(r.stderr) || /^Job \S+ not found/m.test(r.stdout)) return undefined;
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

  /** The attempt's workDir: from the index, or for an attempt it lacks, from Slurm's StdOut in its control dir. */
  #workDirOf(record: SlurmAttemptRecord | undefined, job: SlurmJobView): string | undefined {
    return record?.workDir ?? (job.stdOut ? workDirOfControl(path.dirname(job.stdOut)) : undefined);
  }
}

function ended(job: SlurmJobView): boolean {
  const s = attemptStatusOf(job, false).state;
  return s !== 'pending' && s !== 'running';
}

function jobName(req: LaunchRequest): string {
  return `falaj-${req.jobId}-${req.attempt}`.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 120);
}
