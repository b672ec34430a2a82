// The Slurm executor's parts that need no cluster: sbatch options, the batch script (run with
// sh), scontrol parsing, the state table, and the executor's answers once Slurm has forgotten a
// job, with sbatch/scontrol/scancel faked by small scripts (the `bin` option). The live
// behaviour is in slurm.test.ts against a real cluster.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { attemptFiles, controlDir } from '../../../src/jobs/executors/local-attempt-files.js';
import { SlurmExecutor } from '../../../src/jobs/executors/slurm.js';
import { batchScript, EXIT_STATUS_FILE, sbatchArgs } from '../../../src/jobs/executors/slurm-batch.js';
import {
  attemptStatusOf,
  jobView,
  nodeUsable,
  nodeView,
  parseScontrolLine,
  SLURM_STATE_MAP,
} from '../../../src/jobs/executors/slurm-state.js';
import type { JobSpec, LaunchRequest } from '../../../src/jobs/types.js';

const GiB = 1024 ** 3;
const spec = (over: Partial<JobSpec> = {}): JobSpec => ({
  command: ['python', 'train.py', '--lr', '0.1'],
  queue: 'q',
  resources: { cpu: 4, memory: 16 * GiB, gpu: 0 },
  ...over,
});
const base = {
  jobName: 'falaj-j-1',
  outputPath: '/w/output.log',
  chdir: '/w',
  exportNames: ['PATH', 'FALAJ_TOKEN'],
};

describe('sbatch options', () => {
  it('asks for cpus, memory, time, partition and output, and exports names only', () => {
    expect(sbatchArgs(spec({ maxRuntimeSeconds: 3725 }), { ...base, partition: 'gpu' })).toEqual([
      '--parsable',
      '--job-name=falaj-j-1',
      '--output=/w/output.log',
      '--error=/w/output.log',
      '--chdir=/w',
      '--export=PATH,FALAJ_TOKEN',
      '--nodes=1',
      '--ntasks-per-node=1',
      '--cpus-per-task=4',
      '--mem=16384M',
      '--time=62:05',
      '--partition=gpu',
    ]);
  });

  it('asks for GPUs by count and by type, mapped to the cluster names', () => {
    expect(sbatchArgs(spec({ resources: { cpu: 1, memory: 0, gpu: 2 } }), base)).toContain('--gres=gpu:2');
    const typed = spec({ resources: { cpu: 1, memory: 0, gpu: 8, gpuType: 'h100' } });
    expect(sbatchArgs(typed, base)).toContain('--gres=gpu:h100:8');
    expect(sbatchArgs(typed, { ...base, gpuTypes: { h100: 'nvidia_h100_80gb' } })).toContain(
      '--gres=gpu:nvidia_h100_80gb:8',
    );
  });

  it('never asks for --mem=0 (all of the node) and rounds fractional CPUs up', () => {
    const args = sbatchArgs(spec({ resources: { cpu: 0.5, memory: 0, gpu: 0 } }), base);
    expect(args).toContain('--mem=1M');
    expect(args).toContain('--cpus-per-task=1');
  });

  it('lays out distributed jobs and arrays', () => {
    const args = sbatchArgs(
      spec({ distributed: { nodes: 4, procsPerNode: 8 }, resources: { cpu: 64, memory: GiB, gpu: 8 } }),
      {
        ...base,
        array: { size: 32, maxConcurrent: 4 },
      },
    );
    expect(args).toEqual(
      expect.arrayContaining([
        '--nodes=4',
        '--ntasks-per-node=8',
        '--cpus-per-task=8',
        '--gres=gpu:8',
        '--array=0-31%4',
      ]),
    );
  });

  it('refuses impossible resources with a clear error', () => {
    expect(() => sbatchArgs(spec({ resources: { cpu: -1, memory: 0, gpu: 0 } }), base)).toThrow(/cpu > 0/);
    expect(() => sbatchArgs(spec({ distributed: { nodes: 0, procsPerNode: 1 } }), base)).toThrow(/nodes/);
    expect(() => sbatchArgs(spec({ maxRuntimeSeconds: 0 }), base)).toThrow(/maxRuntimeSeconds/);
  });

  it('puts no environment value on the command line', () => {
    const args = sbatchArgs(spec(), { ...base, exportNames: ['FALAJ_TOKEN', 'DB_PASSWORD'] });
    expect(args.join(' ')).not.toMatch(/=.*(secret|falaj_)/);
    expect(args).toContain('--export=FALAJ_TOKEN,DB_PASSWORD');
  });
});

interface ScriptRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** What the script recorded in its exit-status file, undefined when it wrote none. */
  readonly recorded: string | undefined;
}

/**
 * Writes the batch script for `spec` into a fresh directory and runs it with sh, in a process
 * group of its own (like a Slurm job: a signal to the group reaches no test process).
 */
async function runScript(
  s: JobSpec,
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<ScriptRun> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'falaj-batch-'));
  const file = path.join(dir, 'job.sh');
  const status = path.join(dir, EXIT_STATUS_FILE);
  writeFileSync(
    file,
    batchScript(s, { title: 't', cwd: opts.cwd ?? dir, exitStatusFile: shellWord(status) }),
  );
  const child = spawn('sh', [file], { detached: true, env: { ...process.env, ...opts.env } });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.on('data', (c: Buffer) => err.push(c));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('close', (c, sig) => resolve([c, sig])),
  );
  return {
    code,
    signal,
    stdout: Buffer.concat(out).toString(),
    stderr: Buffer.concat(err).toString(),
    recorded: existsSync(status) ? readFileSync(status, 'utf8') : undefined,
  };
}

const shellWord = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

describe('batch script', () => {
  it('runs the argv exactly, with no shell expansion, and records exit code 0', async () => {
    const args = ['a b', "it's", '$(touch pwned)', '`x`', '*'];
    const r = await runScript(spec({ command: ['printf', '[%s]', ...args] }));
    expect(r.stdout).toBe(args.map((a) => `[${a}]`).join(''));
    expect(r).toMatchObject({ code: 0, recorded: 'code=0\n' });
  });

  it('fails with exit 127 and a message when the command does not exist, and records it', async () => {
    const r = await runScript(spec({ command: ['no-such-cmd-falaj'] }));
    expect(r.code).toBe(127);
    expect(r.stderr).toMatch(/command not found: no-such-cmd-falaj/);
    expect(r.recorded).toBe('code=127\n');
  });

  it('records a missing working directory as exit code 1', async () => {
    const r = await runScript(spec({ command: ['true'] }), { cwd: '/nonexistent/falaj-wd' });
    expect(r).toMatchObject({ code: 1, recorded: 'code=1\n' });
    expect(r.stderr).toMatch(/working directory does not exist/);
  });

  it("exits with the command's own code after recording it", async () => {
    const r = await runScript(spec({ command: ['sh', '-c', 'echo partial; exit 3'] }));
    expect(r).toMatchObject({ code: 3, signal: null, stdout: 'partial\n', recorded: 'code=3\n' });
  });

  it('records a signal and dies of the same signal, as the command did', async () => {
    const r = await runScript(spec({ command: ['sh', '-c', 'kill -KILL $$'] }));
    expect(r).toMatchObject({ code: null, signal: 'SIGKILL', recorded: 'signal=9\n' });
  });

  it('outlives a SIGTERM sent to every process of the job (scancel --full) to record it', async () => {
    // The job's whole process group gets SIGTERM, the batch shell included.
    const r = await runScript(spec({ command: ['sh', '-c', 'kill -TERM 0; sleep 5'] }));
    expect(r).toMatchObject({ code: null, signal: 'SIGTERM', recorded: 'signal=15\n' });
  });

  it('keeps the exit code of a command that traps SIGTERM and exits on its own terms', async () => {
    const r = await runScript(spec({ command: ['sh', '-c', 'trap "exit 0" TERM; kill -TERM 0; sleep 5'] }));
    expect(r).toMatchObject({ code: 0, recorded: 'code=0\n' });
  });

  it('runs distributed jobs through srun with the torchrun variables, and records its end', async () => {
    const text = batchScript(spec({ distributed: { nodes: 2, procsPerNode: 4 } }), {
      title: 't',
      cwd: '/w',
      exitStatusFile: "'/w/exit-status'",
    });
    expect(text).toMatch(/\(exec srun --export=ALL/);
    expect(text).toMatch(/RANK=\$SLURM_PROCID/);
    expect(text).toMatch(/MASTER_ADDR=\$\(scontrol show hostnames/);
    expect(text).toMatch(/OMP_NUM_THREADS:=1/);
    // With stand-ins for srun (runs one rank here) and scontrol, the rank's exit code is recorded.
    const bin = mkdtempSync(path.join(os.tmpdir(), 'falaj-fake-srun-'));
    script(bin, 'scontrol', 'echo node1');
    script(
      bin,
      'srun',
      'while :; do case "$1" in --*) shift ;; *) break ;; esac; done\n' +
        'SLURM_PROCID=0 SLURM_LOCALID=0 SLURM_NTASKS=1 SLURM_NODEID=0 exec "$@"',
    );
    const r = await runScript(
      spec({
        command: ['sh', '-c', 'echo "rank=$RANK of $WORLD_SIZE"; exit 5'],
        distributed: { nodes: 1, procsPerNode: 1 },
      }),
      { env: { PATH: `${bin}:${process.env.PATH}`, SLURM_JOB_ID: '7', SLURM_JOB_NODELIST: 'node1' } },
    );
    expect(r).toMatchObject({ code: 5, stdout: 'rank=0 of 1\n', recorded: 'code=5\n' });
  });
});

/** An executable sh script `name` in `dir`. */
function script(dir: string, name: string, body: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

/**
 * sbatch, scontrol and scancel stand-ins: sbatch prints `jobId`; scontrol prints what the test
 * last set with `answer()`; scancel records its arguments and makes scontrol forget the job
 * (a cancelled job that Slurm has since purged).
 */
function fakeSlurm(jobId: string) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'falaj-fake-slurm-'));
  const answer = (a: { stdout?: string; stderr?: string; code?: number }) => {
    writeFileSync(path.join(dir, 'out'), a.stdout ?? '');
    writeFileSync(path.join(dir, 'err'), a.stderr ?? '');
    writeFileSync(path.join(dir, 'code'), String(a.code ?? 0));
  };
  const forget = () => answer({ stderr: `${INVALID_JOB_ID}\n`, code: 1 });
  forget();
  const d = shellWord(dir);
  const bin = {
    sbatch: script(dir, 'sbatch', `echo ${jobId}`),
    scontrol: script(dir, 'scontrol', `cat ${d}/out; cat ${d}/err >&2; exit "$(cat ${d}/code)"`),
    scancel: script(
      dir,
      'scancel',
      `echo "$*" >> ${d}/scancel.log; printf '%s\\n' ${shellWord(INVALID_JOB_ID)} > ${d}/err; echo 1 > ${d}/code`,
    ),
  };
  const scancelled = () =>
    existsSync(path.join(dir, 'scancel.log')) ? readFileSync(path.join(dir, 'scancel.log'), 'utf8') : '';
  return { bin, answer, forget, scancelled };
}

/** What `scontrol show job 99999999` prints (stderr, exit 1) on the Slurm 22.05 test cluster. */
const INVALID_JOB_ID = 'slurm_load_jobs error: Invalid job id specified';

describe('after Slurm forgets a job (MinJobAge, no accounting)', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'falaj-slurm-unit-'));
  let n = 0;
  const setup = async (jobId = '4242') => {
    const slurm = fakeSlurm(jobId);
    const stateDir = path.join(root, `state-${++n}`);
    const create = () => new SlurmExecutor({ bin: slurm.bin, stateDir, cancelWaitSeconds: 5 });
    const req: LaunchRequest = {
      jobId: `j${n}`,
      attempt: 1,
      spec: spec({ command: ['true'] }),
      placements: [],
      env: {},
      workDir: path.join(root, `j${n}`, '1'),
    };
    const executor = create();
    const { externalId } = await executor.start(req);
    const ended = (content: string) =>
      writeFileSync(path.join(controlDir(req.workDir), EXIT_STATUS_FILE), content);
    const cancelMark = () =>
      writeFileSync(attemptFiles(req.workDir).cancel, JSON.stringify({ requestedAt: 'x', graceSeconds: 0 }));
    // A new instance, as after a server restart: only the state directory is shared.
    return { slurm, stateDir, req, externalId, executor: create(), ended, cancelMark };
  };

  it('indexes each attempt before start() returns, and its script records its end there', async () => {
    const { stateDir, req, externalId } = await setup();
    expect(externalId).toBe('4242');
    expect(JSON.parse(readFileSync(path.join(stateDir, '4242.json'), 'utf8'))).toMatchObject({
      externalId: '4242',
      jobId: req.jobId,
      attempt: 1,
      workDir: req.workDir,
      logPath: attemptFiles(req.workDir).log,
    });
    expect(readFileSync(path.join(controlDir(req.workDir), 'falaj-job.sh'), 'utf8')).toContain(
      `falaj_status='${path.join(controlDir(req.workDir), EXIT_STATUS_FILE)}'`,
    );
  });

  it('reads exit code 0 as succeeded', async () => {
    const t = await setup();
    t.ended('code=0\n');
    expect(await t.executor.status(t.externalId)).toEqual({ state: 'succeeded', exitCode: 0 });
  });

  it('reads a non-zero exit code as failed with that code', async () => {
    const t = await setup();
    t.ended('code=3\n');
    expect(await t.executor.status(t.externalId)).toEqual({
      state: 'failed',
      exitCode: 3,
      reason: 'exit code 3',
    });
    t.ended('code=127\n');
    expect((await t.executor.status(t.externalId)).reason).toMatch(/command not found/);
  });

  it('reads a signal as Slurm would have shown it (ExitCode=0:N)', async () => {
    const t = await setup();
    t.ended('signal=9\n');
    const forgotten = await t.executor.status(t.externalId);
    expect(forgotten).toEqual({
      state: 'failed',
      exitCode: 0,
      signal: 'SIGKILL',
      reason: 'killed by SIGKILL',
    });
    expect(forgotten).toEqual(attemptStatusOf(jobView({ JobState: 'FAILED', ExitCode: '0:9' }), false));
  });

  it('reads an end after a Falaj cancel as cancelled', async () => {
    const t = await setup();
    t.cancelMark();
    t.ended('signal=15\n');
    expect(await t.executor.status(t.externalId)).toEqual({
      state: 'cancelled',
      exitCode: 0,
      signal: 'SIGTERM',
      reason: 'cancelled: killed by SIGTERM',
    });
  });

  it('reads a job Falaj cancelled before it ran (no exit status) as cancelled', async () => {
    const t = await setup();
    t.slurm.answer({
      stdout: `JobId=4242 JobState=PENDING Reason=Priority ExitCode=0:0 StdOut=/elsewhere/o.log\n`,
    });
    expect(await t.executor.status(t.externalId)).toEqual({
      state: 'pending',
      reason: 'waiting in Slurm: Priority',
    });
    // The fake scancel makes Slurm forget the job at once, so cancel() does not wait.
    await t.executor.cancel(t.externalId, { graceSeconds: 0 });
    expect(t.slurm.scancelled()).toBe('4242\n');
    // The mark went to the workDir from the index, not to where Slurm's StdOut said.
    expect(existsSync(attemptFiles(t.req.workDir).cancel)).toBe(true);
    expect(await t.executor.status(t.externalId)).toMatchObject({
      state: 'cancelled',
      reason: expect.stringMatching(/cancelled by Falaj; Slurm has since forgotten job 4242/),
    });
  });

  it('reads a known attempt with no recorded end as lost, saying Slurm forgot it first', async () => {
    const t = await setup();
    expect(await t.executor.status(t.externalId)).toEqual({
      state: 'lost',
      reason: expect.stringMatching(/^Slurm forgot job 4242 before Falaj saw it end.*node failed/),
    });
  });

  it('answers for an id neither Slurm nor the index knows as before', async () => {
    const t = await setup();
    expect(await t.executor.status('99999999')).toEqual({
      state: 'lost',
      reason: expect.stringMatching(/no longer knows job 99999999/),
    });
    await expect(t.executor.status('../4242')).rejects.toMatchObject({ code: 'FALAJ_INVALID_ARGUMENT' });
  });

  it('prefers what Slurm says while it still knows the job', async () => {
    const t = await setup();
    t.ended('code=0\n');
    t.slurm.answer({ stdout: 'JobId=4242 JobState=TIMEOUT ExitCode=0:15 StdOut=/elsewhere/o.log\n' });
    expect(await t.executor.status(t.externalId)).toMatchObject({ state: 'failed', reason: /runtime/ });
    // The cancel mark is read from the index's workDir, whatever Slurm's StdOut says.
    t.cancelMark();
    expect((await t.executor.status(t.externalId)).state).toBe('cancelled');
  });

  it("reads the log from the index's path once Slurm has forgotten the job", async () => {
    const t = await setup();
    writeFileSync(attemptFiles(t.req.workDir).log, 'line 1\nline 2\n');
    t.ended('code=0\n');
    const parts: string[] = [];
    for await (const c of t.executor.logs(t.externalId, { follow: true }))
      parts.push(Buffer.from(c).toString());
    expect(parts.join('')).toBe('line 1\nline 2\n');
    const unknown = async () => {
      for await (const _ of t.executor.logs('99999999')) break;
    };
    await expect(unknown()).rejects.toMatchObject({ code: 'FALAJ_NOT_FOUND' });
  });

  it('answers for array tasks Slurm no longer knows (`Job N_I not found`) from their own workDirs', async () => {
    const slurm = fakeSlurm('77');
    const stateDir = path.join(root, 'state-array');
    const reqs = [0, 1].map(
      (i): LaunchRequest => ({
        jobId: `arr-${i}`,
        attempt: 1,
        spec: spec({ command: ['true'] }),
        placements: [],
        env: {},
        workDir: path.join(root, 'arr', String(i)),
      }),
    );
    const ids = await new SlurmExecutor({ bin: slurm.bin, stateDir }).submitArray(reqs);
    expect(ids).toEqual([{ externalId: '77_0' }, { externalId: '77_1' }]);
    writeFileSync(path.join(controlDir(reqs[0]?.workDir ?? ''), EXIT_STATUS_FILE), 'code=0\n');
    writeFileSync(path.join(controlDir(reqs[1]?.workDir ?? ''), EXIT_STATUS_FILE), 'code=5\n');
    // What scontrol prints for a task of an array it knows no more (stdout, exit 1).
    slurm.answer({ stdout: 'Job 77_1 not found\n', code: 1 });
    const executor = new SlurmExecutor({ bin: slurm.bin, stateDir });
    expect(await executor.status('77_1')).toMatchObject({ state: 'failed', exitCode: 5 });
    slurm.forget();
    expect(await executor.status('77_0')).toMatchObject({ state: 'succeeded' });
  });

  it('cancels a job it cannot index, rather than leave one it could not answer for', async () => {
    const slurm = fakeSlurm('4343');
    const stateDir = path.join(root, 'not-a-dir');
    writeFileSync(stateDir, 'a file where the state directory should be');
    const executor = new SlurmExecutor({ bin: slurm.bin, stateDir });
    const workDir = path.join(root, 'unindexed');
    mkdirSync(workDir, { recursive: true });
    await expect(
      executor.start({
        jobId: 'u',
        attempt: 1,
        spec: spec({ command: ['true'] }),
        placements: [],
        env: {},
        workDir,
      }),
    ).rejects.toMatchObject({ code: 'FALAJ_INTERNAL', message: /cannot record Slurm job 4343/ });
    expect(slurm.scancelled()).toBe('4343\n');
  });
});

describe('scontrol parsing and the state table', () => {
  const line =
    'JobId=42 JobName=falaj-j-1 UserId=root(0) JobState=FAILED Reason=NonZeroExitCode Dependency=(null) ' +
    'ExitCode=3:0 RunTime=00:00:01 WorkDir=/w with space StdErr=/w/output.log StdOut=/w/output.log Power=';

  it('reads key=value lines whose values hold spaces', () => {
    const f = parseScontrolLine(line);
    expect(f.JobState).toBe('FAILED');
    expect(f.WorkDir).toBe('/w with space');
    expect(f.StdOut).toBe('/w/output.log');
    expect(f.Power).toBe('');
  });

  it('maps exit codes and signals', () => {
    expect(attemptStatusOf(jobView(parseScontrolLine(line)), false)).toEqual({
      state: 'failed',
      exitCode: 3,
      reason: 'exit code 3',
    });
    const killed = jobView({ JobState: 'FAILED', ExitCode: '0:9' });
    expect(attemptStatusOf(killed, false)).toMatchObject({
      state: 'failed',
      signal: 'SIGKILL',
      reason: 'killed by SIGKILL',
    });
    expect(attemptStatusOf(jobView({ JobState: 'FAILED', ExitCode: '127:0' }), false).reason).toMatch(
      /not found/,
    );
  });

  it('tells a cancel from outside Falaj from one Falaj asked for', () => {
    const cancelled = jobView({ JobState: 'CANCELLED', ExitCode: '0:15' });
    expect(attemptStatusOf(cancelled, false)).toMatchObject({
      state: 'cancelled',
      reason: 'cancelled outside Falaj',
    });
    expect(attemptStatusOf(cancelled, true)).toMatchObject({
      state: 'cancelled',
      reason: 'cancelled: killed by SIGTERM',
    });
    // Falaj's SIGTERM made the job exit non-zero: it still reads as Falaj's cancel.
    expect(attemptStatusOf(jobView({ JobState: 'FAILED', ExitCode: '143:0' }), true).state).toBe('cancelled');
  });

  it('maps every Slurm job state named in the issue', () => {
    const expected: Record<string, string> = {
      PENDING: 'pending',
      RUNNING: 'running',
      COMPLETED: 'succeeded',
      FAILED: 'failed',
      CANCELLED: 'cancelled',
      TIMEOUT: 'failed',
      NODE_FAIL: 'lost',
      PREEMPTED: 'lost',
      OUT_OF_MEMORY: 'failed',
    };
    for (const [slurm, falaj] of Object.entries(expected)) {
      expect(attemptStatusOf(jobView({ JobState: slurm, ExitCode: '0:0' }), false).state, slurm).toBe(falaj);
    }
    expect(attemptStatusOf(jobView({ JobState: 'TIMEOUT', ExitCode: '0:15' }), false).reason).toMatch(
      /runtime/,
    );
    expect(attemptStatusOf(jobView({ JobState: 'OUT_OF_MEMORY', ExitCode: '0:9' }), false).reason).toMatch(
      /memory/,
    );
    expect(attemptStatusOf(jobView({ JobState: 'PENDING', Reason: 'Resources' }), false)).toEqual({
      state: 'pending',
      reason: 'waiting in Slurm: Resources',
    });
    expect(Object.keys(SLURM_STATE_MAP).length).toBeGreaterThanOrEqual(20);
  });

  it('reads nodes with typed and untyped GPUs', () => {
    const n = nodeView(
      parseScontrolLine(
        'NodeName=g1 Arch=x86_64 CPUTot=64 RealMemory=515000 Gres=gpu:h100:4(S:0-1),gpu:a100:2 State=MIXED Partitions=gpu,all',
      ),
    );
    expect(n).toEqual({
      name: 'g1',
      cpus: 64,
      memoryMiB: 515000,
      state: 'MIXED',
      partitions: ['gpu', 'all'],
      gpus: { h100: 4, a100: 2 },
    });
    expect(nodeView(parseScontrolLine('NodeName=g2 Gres=gpu:2 State=IDLE')).gpus).toEqual({ '': 2 });
    expect(nodeUsable('IDLE')).toBe(true);
    expect(nodeUsable('IDLE+DRAIN')).toBe(false);
    expect(nodeUsable('DOWN*')).toBe(false);
  });
});
