// Reading Slurm's answers: `scontrol show job -o` / `scontrol show node -o` lines, and the table
// from Slurm job states to Falaj attempt states (data, so that it can be read and tested whole).
import type { AttemptStatus } from '../types.js';

/** Parses one `scontrol show ... -o` line (`Key=Value Key=Value ...`; values may hold spaces). */
export function parseScontrolLine(line: string): Record<string, string> {
  const fields: Record<string, string> = {};
  const re = /(?:^|\s)([A-Za-z][A-Za-z0-9/:_]*)=/g;
  const marks: { key: string; start: number; valueStart: number }[] = [];
  for (let m = re.exec(line); m; m = re.exec(line)) {
    marks.push({ key: m[1] as string, start: m.index, valueStart: m.index + m[0].length });
  }
  marks.forEach((mark, i) => {
    const end = marks[i + 1]?.start ?? line.length;
    fields[mark.key] = line.slice(mark.valueStart, end).trim();
  });
  return fields;
}

type Mapped = Pick<AttemptStatus, 'state' | 'reason'>;

/** Slurm job state (without flags such as `+`) → attempt state; exit code and signal are added after. */
export const SLURM_STATE_MAP: Readonly<Record<string, Mapped>> = {
  PENDING: { state: 'pending' },
  CONFIGURING: { state: 'pending', reason: 'Slurm is configuring the nodes' },
  REQUEUED: { state: 'pending', reason: 'requeued by Slurm' },
  REQUEUE_HOLD: { state: 'pending', reason: 'requeued by Slurm and held' },
  REQUEUE_FED: { state: 'pending', reason: 'requeued by Slurm' },
  RESIZING: { state: 'running' },
  RUNNING: { state: 'running' },
  // Its processes are being cleaned up and its resources are still held.
  COMPLETING: { state: 'running', reason: 'completing' },
  SUSPENDED: { state: 'running', reason: 'suspended by Slurm' },
  STOPPED: { state: 'running', reason: 'stopped by Slurm (SIGSTOP)' },
  SIGNALING: { state: 'running' },
  STAGE_OUT: { state: 'running' },
  COMPLETED: { state: 'succeeded' },
  FAILED: { state: 'failed' },
  CANCELLED: { state: 'cancelled', reason: 'cancelled outside Falaj' },
  TIMEOUT: { state: 'failed', reason: 'exceeded its maximum runtime (Slurm TIMEOUT)' },
  DEADLINE: { state: 'failed', reason: 'reached its Slurm deadline' },
  OUT_OF_MEMORY: { state: 'failed', reason: 'ran out of memory (Slurm OUT_OF_MEMORY)' },
  SPECIAL_EXIT: { state: 'failed', reason: 'Slurm SPECIAL_EXIT' },
  BOOT_FAIL: { state: 'lost', reason: 'a node failed to boot (Slurm BOOT_FAIL)' },
  NODE_FAIL: { state: 'lost', reason: 'a node failed (Slurm NODE_FAIL)' },
  // Preempted by Slurm itself: Falaj did not decide it, so the attempt is lost and Falaj retries.
  PREEMPTED: { state: 'lost', reason: 'preempted by Slurm' },
  REVOKED: { state: 'lost', reason: 'revoked by Slurm (federation)' },
};

const SIGNALS: Readonly<Record<number, string>> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  3: 'SIGQUIT',
  6: 'SIGABRT',
  9: 'SIGKILL',
  11: 'SIGSEGV',
  15: 'SIGTERM',
};

export interface SlurmJobView {
  readonly state: string;
  /** `ExitCode=N:S` → exit code N and signal S. */
  readonly exitCode: number | undefined;
  readonly signal: number | undefined;
  readonly stdOut: string | undefined;
  readonly reason: string | undefined;
}

export function jobView(fields: Record<string, string>): SlurmJobView {
  const state = (fields.JobState ?? 'UNKNOWN').split(/[+ ]/)[0] as string;
  const exit = /^(\d+):(\d+)$/.exec(fields.ExitCode ?? '');
  return {
    state,
    exitCode: exit ? Number(exit[1]) : undefined,
    signal: exit ? Number(exit[2]) : undefined,
    stdOut: fields.StdOut,
    reason: fields.Reason && fields.Reason !== 'None' ? fields.Reason : undefined,
  };
}

/** The attempt status for a Slurm job; `cancelledByFalaj` when Falaj asked for the cancel. */
export function attemptStatusOf(job: SlurmJobView, cancelledByFalaj: boolean): AttemptStatus {
  const mapped = SLURM_STATE_MAP[job.state] ?? {
    state: 'running',
    reason: `unknown Slurm state ${job.state}`,
  };
  const ended = mapped.state !== 'pending' && mapped.state !== 'running';
  if (!ended) {
    const reason =
      mapped.state === 'pending' && job.reason ? `waiting in Slurm: ${job.reason}` : mapped.reason;
    return reason ? { state: mapped.state, reason } : { state: mapped.state };
  }
  const signal = job.signal ? (SIGNALS[job.signal] ?? `signal ${job.signal}`) : undefined;
  const fields = {
    ...(job.exitCode !== undefined ? { exitCode: job.exitCode } : {}),
    ...(signal ? { signal } : {}),
  };
  const how = signal ? `killed by ${signal}` : `exit code ${job.exitCode ?? 'unknown'}`;
  if (cancelledByFalaj && mapped.state !== 'succeeded')
    return { state: 'cancelled', ...fields, reason: `cancelled: ${how}` };
  if (cancelledByFalaj) return { state: 'cancelled', ...fields, reason: 'cancelled: exit code 0' };
  if (mapped.state === 'succeeded') return { state: 'succeeded', ...fields };
  if (mapped.state === 'failed' && job.state === 'FAILED') {
    // 127 is what the batch script exits with when the command does not exist (and what shells use).
    const reason = job.exitCode === 127 && !signal ? 'exit code 127: command not found' : how;
    return { state: 'failed', ...fields, reason };
  }
  return { state: mapped.state, ...fields, reason: mapped.reason ?? how };
}

export interface SlurmNodeView {
  readonly name: string;
  readonly cpus: number;
  readonly memoryMiB: number;
  readonly state: string;
  readonly partitions: readonly string[];
  /** GPU counts by Slurm gres type ('' when untyped). */
  readonly gpus: Readonly<Record<string, number>>;
}

export function nodeView(fields: Record<string, string>): SlurmNodeView {
  const gpus: Record<string, number> = {};
  for (const entry of (fields.Gres ?? '').split(',')) {
    // gpu:4  gpu:h100:4  gpu:h100:4(S:0-1)
    const m = /^gpu(?::([^:(]+))?:(\d+)/.exec(entry.trim());
    if (m) gpus[m[1] ?? ''] = (gpus[m[1] ?? ''] ?? 0) + Number(m[2]);
  }
  return {
    name: fields.NodeName ?? '',
    cpus: Number(fields.CPUTot ?? 0),
    memoryMiB: Number(fields.RealMemory ?? 0),
    state: fields.State ?? 'UNKNOWN',
    partitions: (fields.Partitions ?? '').split(',').filter((p) => p !== ''),
    gpus,
  };
}

/** Nodes that can take work now; DOWN, DRAIN, FAIL and not-responding (`*`) ones cannot. */
export function nodeUsable(state: string): boolean {
  return !/DOWN|DRAIN|FAIL|NOT_RESPONDING|\*|FUTURE|POWER/.test(state);
}
