import { blobToFile } from '../../artifacts/blob-file.js';
import { newId } from '../../core/ids.js';
import type { Services } from '../../http/services.js';
import { resolveSecrets } from '../../security/secrets/project-secrets.js';
import { API_TOKEN_PREFIX, newSecretToken, sha256Hex } from '../../security/secrets/secrets.js';
import { codeSnapshotDigest, materializeCode } from '../code-snapshot.js';
import { recordCodeInput } from '../job-lineage.js';
import { type JobRow, type JobStore, placementsOf, specOf } from '../job-store.js';
import { DEFAULT_QUEUE, queueNetwork, schedulerConfig, storedQueues } from '../queues.js';
import {
  accrueUsage,
  type Decision,
  pendingJobFromSpec,
  type RunningJob,
  schedule,
  type UsageHistory,
} from '../scheduler/index.js';
import type { AttemptStatus, Executor } from '../types.js';
import { launchGroups, type Prepared } from './launch-groups.js';
import { acquireLease, releaseLease } from './lease.js';

const LEASE = 'scheduler';

export interface JobSchedulerOptions {
  executor: Executor;
  /** This server's identity for the lease. */
  holder?: string;
  /** The URL jobs reach this server at (FALAJ_URL), known once it listens. */
  serverUrl: () => string | undefined;
  /** SIGTERM → SIGKILL grace for cancels and preemptions. Default 10 s. */
  graceSeconds?: number;
  leaseTtlMs?: number;
  /** Where executors keep attempt files. */
  workRoot: string;
  /** A pass that threw (the loop goes on). Default: a line on stderr. */
  onError?: (err: unknown) => void;
}

const defaultOnError = (err: unknown) =>
  process.stderr.write(`falaj scheduler: ${(err as Error).stack ?? String(err)}\n`);

/**
 * The scheduler loop of one server: under a database lease (so that exactly one server of
 * several schedules), each pass reconciles admitted and running attempts with the executor,
 * asks the pure scheduler (src/jobs/scheduler) what to admit and preempt, and applies it,
 * recording every transition (job_events + audit) and keeping each job's tracking run in step.
 */
export class JobScheduler {
  readonly holder: string;
  private usage: UsageHistory | undefined;
  private lastPass: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private loop: (() => Promise<void>) | undefined;
  private stopped = false;
  private kicked = false;
  private passing: Promise<Decision | undefined> | undefined;

  constructor(
    private readonly svc: Services,
    private readonly jobs: JobStore,
    private readonly opts: JobSchedulerOptions,
  ) {
    this.holder = opts.holder ?? `server-${newId().slice(0, 12)}`;
  }

  get executor(): Executor {
    return this.opts.executor;
  }

  start(intervalMs = 500): void {
    this.loop = async () => {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      await this.pass().catch((err: unknown) => (this.opts.onError ?? defaultOnError)(err));
      if (this.stopped) return;
      // A kick may have run a pass meanwhile: keep a single timer either way.
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.loop?.(), intervalMs);
      this.timer.unref();
    };
    this.timer = setTimeout(() => void this.loop?.(), 0);
    this.timer.unref();
  }

  /**
   * Runs a pass now rather than at the next tick (a job was submitted or cancelled), so that a
   * job on a free machine starts within milliseconds, not half a second.
   */
  kick(): void {
    if (!this.loop || this.stopped || this.kicked) return;
    this.kicked = true;
    setImmediate(() => {
      this.kicked = false;
      void this.loop?.();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.passing;
    await releaseLease(this.svc.store.db, LEASE, this.holder).catch(() => {});
  }

  /** One scheduling pass (serialised); undefined when another server holds the lease. */
  pass(): Promise<Decision | undefined> {
    const run = async () => {
      await this.passing?.catch(() => {});
      return this.passOnce();
    };
    this.passing = run();
    return this.passing;
  }

  private async passOnce(): Promise<Decision | undefined> {
    const { svc } = this;
    const db = svc.store.db;
    const now = svc.clock.now();
    if (!(await acquireLease(db, LEASE, this.holder, now, this.opts.leaseTtlMs ?? 15_000))) return undefined;
    await this.reconcile();

    const nodes = await this.executor.discover();
    const active = await db
      .selectFrom('jobs')
      .selectAll()
      .where('state', 'in', ['queued', 'admitted', 'running'])
      .execute();
    const projectNames = new Map(
      (await db.selectFrom('projects').select(['id', 'name']).execute()).map((p) => [p.id, p.name]),
    );
    const projectOf = (j: JobRow) => projectNames.get(j.project_id) ?? j.project_id;
    const running: RunningJob[] = active
      .filter((j) => j.state !== 'queued')
      .map((j) => {
        const { maxRuntimeSeconds } = specOf(j);
        return {
          id: j.id,
          queue: j.queue,
          project: projectOf(j),
          priority: j.priority,
          startedAt: Number(j.started_at ?? j.updated_at),
          placements: placementsOf(j),
          ...(maxRuntimeSeconds ? { maxRuntimeSeconds } : {}),
          // Being preempted: its capacity is freed once it exits (jobs.preempt_requested_at).
          ...(j.preempt_requested_at !== null ? { terminating: true } : {}),
        };
      });
    const queued = active.filter(
      (j) => j.state === 'queued' && (j.not_before === null || Number(j.not_before) <= now),
    );
    const pending = queued.map((j) =>
      pendingJobFromSpec(j.id, projectOf(j), specOf(j), Number(j.created_at)),
    );
    const defaultProjects = [
      ...new Set(active.filter((j) => j.queue === DEFAULT_QUEUE).map(projectOf)),
    ].sort();
    const config = schedulerConfig(await storedQueues(db), defaultProjects, nodes);
    const decision = schedule({
      now,
      config,
      nodes,
      running,
      pending,
      ...(this.usage ? { usage: this.usage } : {}),
    });
    this.usage = accrueUsage(
      this.usage,
      decision.shares,
      this.lastPass === undefined ? 0 : (now - this.lastPass) / 1000,
    );
    this.lastPass = now;

    const byId = new Map(active.map((j) => [j.id, j]));
    for (const p of decision.preemptions) {
      const victim = byId.get(p.jobId);
      if (!victim?.external_id || victim.preempt_requested_at !== null) continue;
      await db
        .updateTable('jobs')
        .set({ reason: `preempting: ${p.reason}`, preempt_requested_at: now })
        .where('id', '=', victim.id)
        .execute();
      await this.executor.cancel(victim.external_id, { graceSeconds: this.opts.graceSeconds ?? 10 });
    }
    const prepared: Prepared[] = [];
    for (const a of decision.admissions) {
      const job = byId.get(a.jobId);
      // A job that needs preempted jobs' capacity starts on a later pass, once they have exited.
      if (!job || a.waitFor.length > 0) continue;
      const p = await this.prepare(job, a.placements);
      if (p) prepared.push(p);
    }
    // Alike attempts admitted together (tuning trials) start as one job array where the
    // executor has them (Slurm): one submission instead of many.
    for (const group of launchGroups(prepared, this.executor.startArray !== undefined))
      await this.startGroup(group);
    for (const v of decision.pending) {
      const job = byId.get(v.jobId);
      if (!job) continue;
      if (v.impossible) {
        await db.transaction().execute(async (tx) => {
          const done = await this.jobs.transition(tx, job, 'failed', {
            reason: `cannot run: ${v.reason}`,
            patch: { ended_at: now },
          });
          if (done) await this.jobs.endRun(tx, done, 'FAILED');
        });
      } else if (job.reason !== v.reason) {
        await db
          .updateTable('jobs')
          .set({ reason: v.reason })
          .where('id', '=', job.id)
          .where('state', '=', 'queued')
          .execute();
      }
    }
    return decision;
  }

  /**
   * Admits a job and makes its launch request (token, environment, code); undefined when it
   * could not be admitted, or failed to prepare (a failed attempt, retried per policy).
   */
  private async prepare(
    job: JobRow,
    placements: Decision['admissions'][number]['placements'],
  ): Promise<Prepared | undefined> {
    const { svc } = this;
    const db = svc.store.db;
    const stored = specOf(job);
    // code: {path} is where the job's files are: its working directory unless one is given.
    const spec =
      stored.code && 'path' in stored.code && !stored.workdir
        ? { ...stored, workdir: stored.code.path }
        : stored;
    const admitted = await db
      .transaction()
      .execute((tx) =>
        this.jobs.transition(tx, job, 'admitted', { patch: { placements: JSON.stringify(placements) } }),
      );
    if (!admitted) return undefined;
    try {
      const token = await this.mintToken(admitted);
      const project = await db
        .selectFrom('projects')
        .select('name')
        .where('id', '=', job.project_id)
        .executeTakeFirstOrThrow();
      const url = this.opts.serverUrl();
      // Resolved now, handed to the process only: never stored with the job nor logged.
      const secrets = spec.secrets ? await resolveSecrets(db, svc.keyring, job.project_id, spec.secrets) : {};
      const env: Record<string, string> = {
        ...secrets,
        ...(url ? { FALAJ_URL: url } : {}),
        FALAJ_TOKEN: token,
        FALAJ_PROJECT: project.name,
        FALAJ_JOB_ID: job.id,
        FALAJ_ATTEMPT: String(admitted.attempt),
        // The spec's precision, for scripts that read it (torch.autocast's dtype).
        ...(spec.mixedPrecision ? { FALAJ_MIXED_PRECISION: spec.mixedPrecision } : {}),
        ...(admitted.run_id ? { FALAJ_RUN_ID: admitted.run_id } : {}),
      };
      const workDir = `${this.opts.workRoot}/${job.id}/${admitted.attempt}`;
      // A code snapshot is unpacked here for executors whose attempts see this disk; an agent
      // fetches and unpacks it on its own machine; pods cannot see it (Kubernetes refuses it).
      const launchSpec = this.executor.capabilities.seesServerDisk
        ? await materializeCode(spec, workDir, async (artifactPath, file) => {
            const digest = await codeSnapshotDigest(db, job.project_id, artifactPath);
            await recordCodeInput(
              db,
              job.project_id,
              job.id,
              { digest, artifact: artifactPath },
              svc.clock.now(),
            );
            await blobToFile(svc, digest, file);
          })
        : spec;
      const network = await queueNetwork(db, spec.queue);
      return {
        admitted,
        req: {
          jobId: job.id,
          attempt: admitted.attempt,
          spec: launchSpec,
          placements,
          env,
          workDir,
          network,
        },
      };
    } catch (err) {
      await this.attemptEnded(admitted, {
        state: 'failed',
        reason: `could not start: ${(err as Error).message}`,
      });
      return undefined;
    }
  }

  /** Starts prepared attempts, several as one array; a start that fails fails each of its attempts. */
  private async startGroup(group: readonly Prepared[]): Promise<void> {
    const { svc } = this;
    let ids: { externalId: string }[];
    try {
      const only = group.length === 1 ? group[0] : undefined;
      ids = only
        ? [await this.executor.start(only.req)]
        : await (this.executor.startArray as NonNullable<Executor['startArray']>)(group.map((g) => g.req));
    } catch (err) {
      for (const { admitted } of group)
        await this.attemptEnded(admitted, {
          state: 'failed',
          reason: `could not start: ${(err as Error).message}`,
        });
      return;
    }
    for (const [i, { admitted }] of group.entries()) {
      const externalId = ids[i]?.externalId as string;
      await svc.store.db.transaction().execute((tx) =>
        this.jobs.transition(tx, admitted, 'running', {
          patch: { external_id: externalId, executor: this.executor.kind, started_at: svc.clock.now() },
        }),
      );
    }
  }

  /** Polls every attempt this executor holds and records the ones that ended. */
  private async reconcile(): Promise<void> {
    const rows = await this.svc.store.db
      .selectFrom('jobs')
      .selectAll()
      .where('state', 'in', ['admitted', 'running'])
      .where('executor', '=', this.executor.kind)
      .where('external_id', 'is not', null)
      .execute();
    for (const job of rows) {
      let status: AttemptStatus;
      try {
        status = await this.executor.status(job.external_id as string);
      } catch (err) {
        status = { state: 'lost', reason: `the executor no longer knows it: ${(err as Error).message}` };
      }
      if (status.state === 'pending' || status.state === 'running') continue;
      await this.attemptEnded(job, status);
    }
  }

  /** An attempt ended: success, a user's cancel, a preemption (back to the queue), or a failure (retry or fail). */
  private async attemptEnded(job: JobRow, status: AttemptStatus): Promise<void> {
    const { svc } = this;
    const now = svc.clock.now();
    const spec = specOf(job);
    const ended = { ended_at: now, exit_code: status.exitCode ?? null, placements: null };
    await svc.store.db.transaction().execute(async (tx) => {
      await this.revokeToken(tx, job);
      if (status.state === 'succeeded') {
        const done = await this.jobs.transition(tx, job, 'succeeded', {
          reason: status.reason ?? 'exit code 0',
          patch: ended,
        });
        if (done) await this.jobs.endRun(tx, done, 'FINISHED');
        return;
      }
      if (job.preempt_requested_at !== null) {
        const p = await this.jobs.transition(tx, job, 'preempted', {
          reason: job.reason ?? 'preempted',
          patch: ended,
        });
        if (p)
          await this.jobs.transition(tx, p, 'queued', {
            reason: 'requeued after preemption (resumes from its last checkpoint)',
            patch: {
              attempt: p.attempt + 1,
              external_id: null,
              started_at: null,
              ended_at: null,
              preempt_requested_at: null,
            },
          });
        return;
      }
      // A cancel asked through Falaj, or one done outside it (scancel by hand): cancelled, not failed.
      if (job.cancel_requested_at !== null || status.state === 'cancelled') {
        const c = await this.jobs.transition(tx, job, 'cancelled', {
          reason: status.reason ?? 'cancelled',
          patch: ended,
        });
        if (c) await this.jobs.endRun(tx, c, 'KILLED');
        return;
      }
      const reason = status.reason ?? status.state;
      const max = spec.retry?.maxAttempts ?? 1;
      if (job.attempt < max) {
        const wait = (spec.retry?.backoffSeconds ?? 10) * 2 ** (job.attempt - 1) * 1000;
        await this.jobs.transition(tx, job, 'queued', {
          reason: `attempt ${job.attempt} of ${max} failed (${reason}); retrying`,
          patch: {
            attempt: job.attempt + 1,
            external_id: null,
            started_at: null,
            placements: null,
            not_before: now + wait,
            exit_code: status.exitCode ?? null,
          },
        });
        return;
      }
      const f = await this.jobs.transition(tx, job, 'failed', { reason, patch: ended });
      if (f) await this.jobs.endRun(tx, f, 'FAILED');
    });
  }

  /** A project token for this attempt, as the submitter (capped by their role), until the time limit. */
  private async mintToken(job: JobRow): Promise<string> {
    const db = this.svc.store.db;
    const user = await db
      .selectFrom('users')
      .select('id')
      .where('username', '=', job.submitted_by)
      .executeTakeFirstOrThrow();
    const token = newSecretToken(API_TOKEN_PREFIX);
    const now = this.svc.clock.now();
    const runtime = specOf(job).maxRuntimeSeconds ?? 7 * 24 * 3600;
    await db
      .insertInto('api_tokens')
      .values({
        id: newId(),
        name: `job:${job.id}#${job.attempt}`,
        token_hash: sha256Hex(token),
        user_id: user.id,
        project_id: job.project_id,
        role: 'editor',
        created_at: now,
        expires_at: now + (runtime + 3600) * 1000,
        revoked_at: null,
        last_used_at: null,
        // Writes only to the job's own run (and runs nested under it): src/security/access/run-scope.ts.
        run_id: job.run_id,
      })
      .execute();
    return token;
  }

  private async revokeToken(tx: Parameters<JobStore['get']>[0], job: JobRow): Promise<void> {
    await tx
      .updateTable('api_tokens')
      .set({ revoked_at: this.svc.clock.now() })
      .where('name', '=', `job:${job.id}#${job.attempt}`)
      .where('revoked_at', 'is', null)
      .execute();
  }
}
