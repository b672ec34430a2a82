// Evaluation requests: evaluations submitted as jobs (evaluation-jobs.ts). Addressed by id under
// the project, beside `models/` as promotion requests are. Anyone of the project reads one; only
// the request's own evaluator job (its run-scoped token) posts the result or the failure.
import { Type } from '@fastify/type-provider-typebox';
import type { FalajApp, Services } from '../../http/services.js';
import { JobStore } from '../../jobs/job-store.js';
import { acceptFailure, acceptResult, requestView } from './evaluation-jobs.js';
import { IdParams, Json, TAGS } from './route-schemas.js';

export const EVALUATION_REQUESTS = '/api/v1/projects/:project/evaluation-requests';

const Metrics = Type.Record(Type.String({ maxLength: 100 }), Type.Union([Type.Number(), Type.Null()]));

const ResultBody = Type.Object(
  {
    result: Type.Object(
      { metrics: Metrics, rows: Type.Optional(Type.Integer({ minimum: 0 })) },
      { additionalProperties: true },
    ),
    runtime: Type.String({ minLength: 1, maxLength: 50 }),
  },
  { additionalProperties: false },
);

export async function evaluationRequestRoutes(app: FalajApp, svc: Services): Promise<void> {
  const jobs = new JobStore(svc);

  app.get(
    `${EVALUATION_REQUESTS}/:id`,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: TAGS,
        summary:
          'An evaluation submitted as a job: its state (pending, done, failed), job, request as checked, and the evaluation once done',
        params: IdParams,
        response: { 200: Json },
      },
    },
    async (req) => requestView(svc, jobs, req.project!.id, req.params.id),
  );

  app.post(
    `${EVALUATION_REQUESTS}/:id/result`,
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: TAGS,
        summary:
          "The evaluator job's result (only the run-scoped token of the request's own job): stored as the version's evaluation, once (201)",
        params: IdParams,
        body: ResultBody,
        response: { 201: Json },
      },
    },
    async (req, reply) => {
      const view = await acceptResult(svc, req, req.project!, req.params.id, req.body);
      return reply.status(201).send(view);
    },
  );

  app.post(
    `${EVALUATION_REQUESTS}/:id/failure`,
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: TAGS,
        summary:
          "The evaluator job could not evaluate (only the run-scoped token of the request's own job): the request fails with the reason",
        params: IdParams,
        body: Type.Object(
          { error: Type.String({ minLength: 1, maxLength: 4000 }) },
          { additionalProperties: false },
        ),
      },
    },
    async (req, reply) => {
      await acceptFailure(svc, req, req.project!, req.params.id, req.body.error);
      return reply.status(204).send();
    },
  );
}
