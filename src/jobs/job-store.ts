import type { Selectable } from 'kysely';
import { FalajError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Services } from '../http/services.js';
import type { Executor } from '../store/executor.js';
import type { JobsTable } from '../store/schema.js';
import { ExperimentStore } from '../tracking/experiment-store.js';
import { RunStore } from '../tracking/run-store.js';
import type { JobSpec, JobState, Placement } from './types.js';

export type JobRow = Selectable<JobsTable>;

/** Who caused a transition, for its audit event: a user's request, or the scheduler itself. */
export interface Cause {
  actor: string;
  sourceIp: string;
  requestId: string;
}

export const SCHEDULER_CAUSE: Cause = { actor: 'system:scheduler', sourceIp: '-', requestId: 'scheduler' };

// The transitions the state machine allows; anything else is a bug or a race lost to another
// writer (the update is conditional on the state read, so a lost race changes nothing).
const ALLOWED: Record<JobState, readonly JobState[]> = {
  queued: ['admitted', 'cancelled', 'failed'],
  admitted: ['running', 'queued', 'preempted', 'cancelled', 'failed'],
  running: ['succeeded', 'failed', 'cancelled', 'preempted', 'queued'],
  preempted: ['queued', 'cancelled'],
  succeeded: [],
  failed: [],
  cancelled: [],
};

export function jobNotFound(id: string): FalajError {
  return new FalajError('FALAJ_NOT_FOUND', `job '${id}' does not exist`, { kind: 'job', id });
}

export function specOf(row: JobRow): JobSpec {
  return JSON.parse(row.spec) as JobSpec;
}

export function placementsOf(row: JobRow): Placement[] {
  return row.placements ? (JSON.parse(row.placements) as Placement[]) : [];
}

/** Jobs and their transitions; every transition is a job_events row and an audit event, in one transaction. */
export class JobStore {
  private readonly runs: RunStore;

  constructor(private readonly svc: Services) {
    this.runs = new RunStore(new ExperimentStore(svc.store.dialect));
  }

  /**
   * Ends a job's tracking run with the job: FINISHED, FAILED or KILLED. A run the script ended
   * itself keeps its status; a deleted run is left as it is.
   */
  async endRun(tx: Executor, job: JobRow, status: 'FINISHED' | 'FAILED' | 'KILLED'): Promise<void> {
    if (!job.run_id) return;
    const run = await tx
      .selectFrom('runs')
      .select(['status', 'lifecycle_stage'])
      .where('id', '=', job.run_id)
      .executeTakeFirst();
    if (run?.lifecycle_stage !== 'active' || run.status !== 'RUNNING') return;
    await this.runs.update(tx, job.project_id, job.run_id, { status, endTime: this.svc.clock.now() });
  }

  async insert(
    tx: Executor,
    p: { projectId: string; spec: JobSpec; user: string; runId: string },
  ): Promise<JobRow> {
    const now = this.svc.clock.now();
    const row: JobRow = {
      id: newId(),
      project_id: p.projectId,
      queue: p.spec.queue,
      name: p.spec.name ?? p.spec.command.join(' ').slice(0, 200),
      spec: JSON.stringify(p.spec),
      state: 'queued',
      priority: p.spec.priority ?? 0,
      attempt: 1,
      run_id: p.runId,
      executor: null,
      external_id: null,
      placements: null,
      reason: null,
      exit_code: null,
      submitted_by: p.user,
      created_at: now,
      updated_at: now,
      started_at: null,
      ended_at: null,
      not_before: null,
      cancel_requested_at: null,
      preempt_requested_at: null,
    };
    await tx.insertInto('jobs').values(row).execute();
    await tx
      .insertInto('job_events')
      .values({
        job_id: row.id,
        at: now,
        attempt: 1,
        from_state: null,
        to_state: 'queued',
        reason: 'submitted',
      })
      .execute();
    return row;
  }

  async get(db: Executor, projectId: string, id: string): Promise<JobRow> {
    const row = await db
      .selectFrom('jobs')
      .selectAll()
      .where('id', '=', id)
      .where('project_id', '=', projectId)
      .executeTakeFirst();
    if (!row) throw jobNotFound(id);
    return row;
  }

  /** A project's jobs, newest first, optionally in one state. */
  async list(db: Executor, projectId: string, opts: { state?: string; limit: number }): Promise<JobRow[]> {
    let q = db
      .selectFrom('jobs')
      .selectAll()
      .where('project_id', '=', projectId)
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .limit(opts.limit);
    if (opts.state) q = q.where('state', '=', opts.state);
    return q.execute();
  }

  /** A job's transitions, oldest first. */
  async events(db: Executor, jobId: string) {
    return db
      .selectFrom('job_events')
      .select(['at', 'attempt', 'from_state', 'to_state', 'reason'])
      .where('job_id', '=', jobId)
      .orderBy('id')
      .execute();
  }

  /**
   * Marks a launched job as asked to cancel (`reason` says by whom): when its attempt ends, the
   * scheduler records it cancelled, not failed.
   */
  async requestCancel(tx: Executor, jobId: string, reason: string): Promise<void> {
    await tx
      .updateTable('jobs')
      .set({ cancel_requested_at: this.svc.clock.now(), reason })
      .where('id', '=', jobId)
      .execute();
  }

  /**
   * Moves `job` from the state it was read in to `to`, with `patch` applied, if nobody moved it
   * meanwhile; returns the new row, or undefined when the race was lost.
   */
  async transition(
    tx: Executor,
    job: JobRow,
    to: JobState,
    opts: { reason?: string | null; patch?: Partial<JobRow>; cause?: Cause } = {},
  ): Promise<JobRow | undefined> {
    const from = job.state as JobState;
    if (!ALLOWED[from]?.includes(to))
      throw new FalajError('FALAJ_CONFLICT', `job ${job.id} is ${from}: it cannot become ${to}`, {
        state: from,
        to,
      });
    const now = this.svc.clock.now();
    const set = { ...opts.patch, state: to, updated_at: now, reason: opts.reason ?? null };
    const res = await tx
      .updateTable('jobs')
      .set(set)
      .where('id', '=', job.id)
      .where('state', '=', from)
      .where('attempt', '=', job.attempt)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) return undefined;
    const next = { ...job, ...set } as JobRow;
    await tx
      .insertInto('job_events')
      .values({
        job_id: job.id,
        at: now,
        attempt: next.attempt,
        from_state: from,
        to_state: to,
        reason: opts.reason ?? null,
      })
      .execute();
    await this.svc.audit.append(tx, {
      ...(opts.cause ?? SCHEDULER_CAUSE),
      action: `job.${to}`,
      objectType: 'job',
      objectId: job.id,
      projectId: job.project_id,
      outcome: 'success',
      status: 200,
      details: { from, attempt: next.attempt, ...(opts.reason ? { reason: opts.reason } : {}) },
    });
    return next;
  }
}
