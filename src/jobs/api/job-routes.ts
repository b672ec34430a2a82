import { Type } from '@fastify/type-provider-typebox';
import { FalajError } from '../../core/errors.js';
import { auditBase, audited } from '../../http/audited.js';
import type { FalajApp, Services } from '../../http/services.js';
import { PROJECT_NAME_PATTERN } from '../../projects/projects.js';
import { parseJobSpec } from '../job-spec.js';
import { type JobRow, type JobStore, placementsOf, specOf } from '../job-store.js';
import type { JobScheduler } from '../loop/job-scheduler.js';
import { checkSubmission, insertJob, submitAudit } from '../submit.js';
import type { JobState } from '../types.js';

const ProjectParams = Type.Object({ project: Type.String({ pattern: PROJECT_NAME_PATTERN }) });
export const JobParams = Type.Object({
  project: Type.String({ pattern: PROJECT_NAME_PATTERN }),
  id: Type.String({ pattern: '^[0-9a-f]{32}$' }),
});

function view(j: JobRow) {
  const spec = specOf(j);
  return {
    id: j.id,
    name: j.name,
    queue: j.queue,
    state: j.state,
    reason: j.reason,
    priority: j.priority,
    attempt: j.attempt,
    runId: j.run_id,
    executor: j.executor,
    externalId: j.external_id,
    exitCode: j.exit_code,
    resources: spec.resources,
    placements: placementsOf(j),
    submittedBy: j.submitted_by,
    createdAt: new Date(Number(j.created_at)).toISOString(),
    startedAt: j.started_at === null ? null : new Date(Number(j.started_at)).toISOString(),
    endedAt: j.ended_at === null ? null : new Date(Number(j.ended_at)).toISOString(),
    // Secret references are names, never values; shown so a user sees what the job will get.
    spec,
  };
}

/** Jobs of a project: submit, list, show, cancel. */
export async function jobRoutes(
  app: FalajApp,
  svc: Services,
  { jobs, scheduler }: { jobs: JobStore; scheduler: JobScheduler },
): Promise<void> {
  app.post(
    '/api/v1/projects/:project/jobs',
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: ['jobs'],
        summary: 'Submit a job (its spec; `experiment` names the tracking experiment of its run)',
        params: ProjectParams,
        body: Type.Object(
          {
            spec: Type.Unknown(),
            experiment: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
            /** Makes the job's run a nested run (a tuning trial under its study's run). */
            parentRunId: Type.Optional(Type.String({ pattern: '^[0-9a-f]{32}$' })),
          },
          {
            additionalProperties: false,
          },
        ),
      },
    },
    async (req, reply) => {
      const project = req.project!;
      const spec = parseJobSpec(req.body.spec);
      await checkSubmission(svc, project, spec);
      const job = await audited(
        svc,
        req,
        async (tx) => {
          const row = await insertJob(svc, jobs, tx, {
            project,
            spec,
            user: req.identity!.username,
            ...(req.body.experiment ? { experiment: req.body.experiment } : {}),
            ...(req.body.parentRunId ? { parentRunId: req.body.parentRunId } : {}),
          });
          return { result: row, audit: submitAudit(row, spec, project.id) };
        },
        201,
      );
      scheduler.kick();
      return reply.status(201).send(view(job));
    },
  );

  app.get(
    '/api/v1/projects/:project/jobs',
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: ['jobs'],
        summary: 'Jobs of the project, newest first',
        params: ProjectParams,
        querystring: Type.Object(
          {
            state: Type.Optional(Type.String()),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => {
      const rows = await jobs.list(svc.store.db, req.project!.id, {
        state: req.query.state,
        limit: req.query.limit ?? 100,
      });
      return { jobs: rows.map(view) };
    },
  );

  app.get(
    '/api/v1/projects/:project/jobs/:id',
    {
      config: { permission: 'project:viewer' },
      schema: { tags: ['jobs'], summary: 'A job with its transitions', params: JobParams },
    },
    async (req) => {
      const job = await jobs.get(svc.store.db, req.project!.id, req.params.id);
      const events = await jobs.events(svc.store.db, job.id);
      return {
        ...view(job),
        events: events.map((e) => ({
          at: new Date(Number(e.at)).toISOString(),
          attempt: e.attempt,
          from: e.from_state,
          to: e.to_state,
          reason: e.reason,
        })),
      };
    },
  );

  app.post(
    '/api/v1/projects/:project/jobs/:id/cancel',
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: ['jobs'],
        summary: 'Cancel a job (SIGTERM, then SIGKILL after the grace period)',
        params: JobParams,
      },
    },
    async (req) => {
      const project = req.project!;
      const job = await jobs.get(svc.store.db, project.id, req.params.id);
      const state = job.state as JobState;
      if (state === 'queued' || state === 'preempted') {
        const done = await svc.store.db.transaction().execute(async (tx) => {
          const c = await jobs.transition(tx, job, 'cancelled', {
            reason: `cancelled by ${req.identity!.username}`,
            patch: { ended_at: svc.clock.now() },
            cause: auditBase(req),
          });
          if (c) await jobs.endRun(tx, c, 'KILLED');
          return c;
        });
        if (!done)
          throw new FalajError('FALAJ_CONFLICT', `job ${job.id} changed state meanwhile; try again`, {
            id: job.id,
          });
        req.audited = true;
        return view(done);
      }
      if (state !== 'admitted' && state !== 'running')
        throw new FalajError('FALAJ_CONFLICT', `job ${job.id} has already ended (${state})`, { state });
      await audited(svc, req, async (tx) => {
        await jobs.requestCancel(tx, job.id, `cancel requested by ${req.identity!.username}`);
        return {
          result: null,
          audit: { action: 'job.cancel-request', objectType: 'job', objectId: job.id, projectId: project.id },
        };
      });
      if (job.external_id) await scheduler.executor.cancel(job.external_id, { graceSeconds: 10 });
      return view(await jobs.get(svc.store.db, project.id, job.id));
    },
  );
}
