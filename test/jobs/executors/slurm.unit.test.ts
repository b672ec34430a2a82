// The Slurm executor's pure parts: sbatch options, the batch script, scontrol parsing and the
// state table. The live behaviour is in slurm.test.ts against a real cluster.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { batchScript, sbatchArgs } from '../../../src/jobs/executors/slurm-batch.js';
import {
  attemptStatusOf,
  jobView,
  nodeUsable,
  nodeView,
  parseScontrolLine,
  SLURM_STATE_MAP,
} from '../../../src/jobs/executors/slurm-state.js';
import type { JobSpec } from '../../../src/jobs/types.js';

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

describe('batch script', () => {
  it('runs the argv exactly, with no shell expansion', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'falaj-batch-'));
    const file = path.join(dir, 'job.sh');
    const args = ['a b', "it's", '$(touch pwned)', '`x`', '*'];
    writeFileSync(
      file,
      batchScript(spec({ command: ['printf', '[%s]', ...args] }), { title: 't', cwd: dir }),
    );
    const out = execFileSync('sh', [file], { encoding: 'utf8' });
    expect(out).toBe(args.map((a) => `[${a}]`).join(''));
  });

  it('fails with exit 127 and a message when the command does not exist', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'falaj-batch-'));
    const file = path.join(dir, 'job.sh');
    writeFileSync(file, batchScript(spec({ command: ['no-such-cmd-falaj'] }), { title: 't', cwd: dir }));
    const r = (() => {
      try {
        execFileSync('sh', [file], { encoding: 'utf8', stdio: 'pipe' });
        return { status: 0, stderr: '' };
      } catch (err) {
        return err as { status: number; stderr: string };
      }
    })();
    expect(r.status).toBe(127);
    expect(r.stderr).toMatch(/command not found: no-such-cmd-falaj/);
  });

  it('runs distributed jobs through srun with the torchrun variables', () => {
    const text = batchScript(spec({ distributed: { nodes: 2, procsPerNode: 4 } }), { title: 't', cwd: '/w' });
    expect(text).toMatch(/exec srun --export=ALL/);
    expect(text).toMatch(/RANK=\$SLURM_PROCID/);
    expect(text).toMatch(/MASTER_ADDR=\$\(scontrol show hostnames/);
    expect(text).toMatch(/OMP_NUM_THREADS:=1/);
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
