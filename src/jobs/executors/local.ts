// The local executor: job attempts as processes on this machine. Each attempt runs under a tiny
// wrapper (local-wrapper.ts) in its own process group, with no shell; its output goes to a file
// in the attempt's workDir; its state is read from files, so a new executor instance (after a
// server restart) answers for attempts an earlier one started (local-attempt-files.ts).
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FalajError } from '../../core/errors.js';
import { LAUNCH_FAILURES, networkOf, type SandboxPolicy, sandboxCommand } from '../sandbox/job-sandbox.js';
import type { AttemptStatus, Executor, ExecutorCapabilities, LaunchRequest, NodeCapacity } from '../types.js';
import { tailFile } from './file-tail.js';
import { discoverNvidiaGpus } from './gpu-discovery.js';
import {
  attemptFiles,
  type LocalAttemptRecord,
  localExternalId,
  prepareAttemptDirs,
  readCancel,
  readExit,
  readRecord,
  recordPath,
  writeJsonAtomic,
} from './local-attempt-files.js';
import { WRAPPED_NODE_OPTIONS, WRAPPER_SOURCE, type WrapperExit, type WrapperPlan } from './local-wrapper.js';
import { bootId, liveGroupMembers, processAlive, processStartTime, signalGroup } from './proc.js';
import { attemptEnv, cudaVisibleDevices } from './process-env.js';
import { torchrunEnv } from './torchrun-env.js';

export interface LocalExecutorOptions {
  /** Where attempt records live; a new instance over the same directory finds earlier attempts. */
  readonly stateDir: string;
  /** The node id the scheduler knows this machine by. Default: the hostname. */
  readonly nodeId?: string;
  /** Variables passed through from the server's environment. Default: PATH, HOME, locale... */
  readonly inheritEnv?: readonly string[];
  /** After maxRuntimeSeconds: SIGTERM, then SIGKILL this many seconds later. Default 10. */
  readonly timeoutGraceSeconds?: number;
  /** The nvidia-smi to run (a path, or a name on PATH). */
  readonly nvidiaSmi?: string;
  /**
   * The sandbox every attempt runs in (job-sandbox.ts). Absent only where the operator chose
   * `--unsafe-unsandboxed-jobs`: the job then runs as the server's user and sees what it sees.
   */
  readonly sandbox?: SandboxPolicy;
}

const CAPABILITIES: ExecutorCapabilities = {
  gpus: true,
  multiNode: false,
  arrays: false,
  liveLogs: true,
  seesServerDisk: true,
};

export class LocalExecutor implements Executor {
  readonly kind = 'local' as const;
  readonly capabilities = CAPABILITIES;
  readonly #opts: LocalExecutorOptions;
  readonly #nodeId: string;
  readonly #bootId = bootId();

  constructor(opts: LocalExecutorOptions) {
    this.#opts = opts;
    this.#nodeId = opts.nodeId ?? os.hostname();
    mkdirSync(opts.stateDir, { recursive: true });
  }

  async discover(): Promise<NodeCapacity[]> {
    const gpus: Record<string, number[]> = {};
    const labels: Record<string, string> = { executor: 'local' };
    for (const gpu of await discoverNvidiaGpus(this.#opts.nvidiaSmi)) {
      gpus[gpu.type] = [...(gpus[gpu.type] ?? []), gpu.index];
      labels[`gpu.${gpu.index}.model`] = gpu.name;
      if (gpu.memoryMiB !== undefined) labels[`gpu.${gpu.index}.memoryMiB`] = String(gpu.memoryMiB);
    }
    return [
      {
        nodeId: this.#nodeId,
        cpu: os.availableParallelism(),
        memory: os.totalmem(),
        gpus,
        labels,
      },
    ];
  }

  async start(req: LaunchRequest): Promise<{ externalId: string }> {
    const { spec } = req;
    if (spec.command.length === 0 || spec.command[0] === '') {
      throw new FalajError('FALAJ_INVALID_ARGUMENT', 'the job has no command');
    }
    const nodes = spec.distributed?.nodes ?? 1;
    const procsPerNode = spec.distributed?.procsPerNode ?? 1;
    if (nodes !== 1) {
      throw new FalajError(
        'FALAJ_INVALID_ARGUMENT',
        `the local executor runs on one machine; distributed.nodes is ${nodes}`,
        { nodes },
      );
    }
    if (!Number.isInteger(procsPerNode) || procsPerNode < 1) {
      throw new FalajError('FALAJ_INVALID_ARGUMENT', `distributed.procsPerNode must be a positive integer`, {
        procsPerNode,
      });
    }

    const sandbox = this.#opts.sandbox;
    const env = attemptEnv(req, sandbox, this.#opts.inheritEnv);
    const gpus = req.placements.flatMap((p) => p.gpus);
    env.CUDA_VISIBLE_DEVICES = cudaVisibleDevices(gpus);
    // The wrapper is Node as well: the job's NODE_OPTIONS must reach the job, not the wrapper.
    if (env.NODE_OPTIONS !== undefined) {
      env[WRAPPED_NODE_OPTIONS] = env.NODE_OPTIONS;
      delete env.NODE_OPTIONS;
    }

    const procs: Record<string, string>[] = [];
    if (spec.distributed) {
      const masterPort = await freePort();
      for (let localRank = 0; localRank < procsPerNode; localRank++) {
        const extra = torchrunEnv({
          masterAddr: '127.0.0.1',
          masterPort,
          nodes: 1,
          procsPerNode,
          nodeRank: 0,
          localRank,
        });
        // As torchrun does: several processes on one node would otherwise oversubscribe the CPUs.
        procs.push(
          procsPerNode > 1 && env.OMP_NUM_THREADS === undefined ? { ...extra, OMP_NUM_THREADS: '1' } : extra,
        );
      }
    } else {
      procs.push({});
    }

    prepareAttemptDirs(req.workDir, sandbox?.runAs);
    const files = attemptFiles(req.workDir);
    if (existsSync(files.exit)) {
      throw new FalajError(
        'FALAJ_CONFLICT',
        `the attempt directory ${req.workDir} already holds an ended attempt`,
      );
    }
    const cwd = spec.workdir ?? req.workDir;
    const network = networkOf(req, sandbox);
    const plan: WrapperPlan = {
      argv: sandbox
        ? sandboxCommand(sandbox, { workDir: req.workDir, cwd, gpus, network }, spec.command)
        : spec.command,
      cwd: sandbox ? req.workDir : cwd,
      exitFile: files.exit,
      procs,
      ...(spec.maxRuntimeSeconds !== undefined ? { maxRuntimeSeconds: spec.maxRuntimeSeconds } : {}),
      killGraceSeconds: this.#opts.timeoutGraceSeconds ?? 10,
      ...(sandbox ? { sandbox: { failures: launchFailures(spec.command[0] as string, cwd) } } : {}),
    };
    writeFileSync(files.wrapper, WRAPPER_SOURCE);
    writeFileSync(files.plan, JSON.stringify(plan));

    const logFd = openSync(files.log, 'a');
    let pid: number;
    try {
      const child = spawn(process.execPath, [files.wrapper, files.plan], {
        detached: true,
        stdio: ['ignore', logFd, logFd],
        env,
        cwd: req.workDir,
      });
      pid = await new Promise<number>((resolve, reject) => {
        child.once('spawn', () => resolve(child.pid as number));
        child.once('error', reject);
      });
      // The server must be free to exit while the attempt runs; Node still reaps the wrapper.
      child.unref();
    } finally {
      closeSync(logFd);
    }

    const externalId = localExternalId(req.jobId, req.attempt, pid);
    const record: LocalAttemptRecord = {
      version: 1,
      externalId,
      jobId: req.jobId,
      attempt: req.attempt,
      workDir: path.resolve(req.workDir),
      pid,
      startTime: processStartTime(pid),
      bootId: this.#bootId,
      startedAt: new Date().toISOString(),
    };
    writeJsonAtomic(recordPath(this.#opts.stateDir, externalId), record);
    return { externalId };
  }

  async status(externalId: string): Promise<AttemptStatus> {
    const record = readRecord(this.#opts.stateDir, externalId);
    const cancel = readCancel(record.workDir);
    let exit = readExit(record.workDir);
    if (!exit) {
      if (this.#groupAlive(record)) {
        // A cancel whose grace ran out while no executor was watching (server restart) is finished here.
        if (cancel && Date.parse(cancel.requestedAt) + cancel.graceSeconds * 1000 < Date.now()) {
          signalGroup(record.pid, 'SIGKILL');
        }
        return { state: 'running' };
      }
      // The wrapper may have written exit.json between the first read and the liveness check.
      exit = readExit(record.workDir);
    }
    if (exit) return endedStatus(exit, cancel !== undefined && cancel.requestedAt <= exit.endedAt);
    if (cancel) {
      return {
        state: 'cancelled',
        signal: 'SIGKILL',
        reason: `cancelled: killed by SIGKILL after ${cancel.graceSeconds} s grace`,
      };
    }
    if (record.bootId !== this.#bootId) {
      return { state: 'lost', reason: 'the machine restarted while the attempt was running' };
    }
    return {
      state: 'lost',
      reason: `the attempt's processes (group ${record.pid}) vanished without an exit status (killed by SIGKILL outside Falaj?)`,
    };
  }

  async cancel(externalId: string, opts: { graceSeconds: number }): Promise<void> {
    const record = readRecord(this.#opts.stateDir, externalId);
    if (readExit(record.workDir) || !this.#groupAlive(record)) return;
    const files = attemptFiles(record.workDir);
    // Written before any signal, so that however the processes end, the end reads as cancelled.
    if (!readCancel(record.workDir)) {
      writeJsonAtomic(files.cancel, {
        requestedAt: new Date().toISOString(),
        graceSeconds: opts.graceSeconds,
      });
    }
    signalGroup(record.pid, 'SIGTERM');
    const deadline = Date.now() + Math.max(0, opts.graceSeconds) * 1000;
    while (Date.now() < deadline && this.#groupAlive(record)) await sleep(50);
    if (this.#groupAlive(record)) signalGroup(record.pid, 'SIGKILL');
    // SIGKILL cannot be refused; the loop only waits for the kernel to finish the job.
    const killDeadline = Date.now() + 10_000;
    while (Date.now() < killDeadline && this.#groupAlive(record)) await sleep(20);
  }

  async *logs(externalId: string, opts?: { follow?: boolean }): AsyncIterable<Uint8Array> {
    const record = readRecord(this.#opts.stateDir, externalId);
    yield* tailFile(attemptFiles(record.workDir).log, {
      follow: opts?.follow ?? false,
      ended: async () => {
        const { state } = await this.status(externalId);
        return state !== 'running' && state !== 'pending';
      },
    });
  }

  async close(): Promise<void> {
    // Nothing held: attempts are tracked through files, and wrappers are unref'd.
  }

  /**
   * Whether anything of the attempt still runs. The group id is the wrapper's pid; it cannot be
   * reused while any member lives, so members without a leader are the attempt's leftovers, and
   * a leader is ours only if its start time matches the record.
   */
  #groupAlive(record: LocalAttemptRecord): boolean {
    if (record.bootId !== this.#bootId) return false;
    const members = liveGroupMembers(record.pid);
    if (members.length === 0) return false;
    return !members.includes(record.pid) || processAlive(record.pid, record.startTime);
  }
}

function endedStatus(exit: WrapperExit, cancelled: boolean): AttemptStatus {
  const code = exit.exitCode ?? undefined;
  const signal = exit.signal ?? undefined;
  const how =
    exit.error ??
    (signal ? `killed by ${signal}` : code === 0 ? 'exit code 0' : `exit code ${code ?? 'unknown'}`);
  const fields = { ...(code !== undefined ? { exitCode: code } : {}), ...(signal ? { signal } : {}) };
  if (cancelled) return { state: 'cancelled', ...fields, reason: `cancelled: ${how}` };
  if (exit.timedOut) return { state: 'failed', ...fields, reason: `exceeded its maximum runtime (${how})` };
  if (exit.error === undefined && signal === undefined && code === 0)
    return { state: 'succeeded', exitCode: 0 };
  return { state: 'failed', ...fields, reason: how };
}

/** The sandbox launcher's failure words with their messages, for the wrapper. */
function launchFailures(argv0: string, cwd: string): Record<string, string> {
  return Object.fromEntries(Object.entries(LAUNCH_FAILURES).map(([w, say]) => [w, say(argv0, cwd)]));
}

/** A TCP port free at this moment, for MASTER_PORT (the rank-0 process binds it soon after). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}
