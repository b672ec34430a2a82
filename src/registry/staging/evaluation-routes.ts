// Evaluations of a model version: run one in process on a dataset version or an uploaded file,
// or submit it as a job (evaluation-jobs.ts); attach the trainer's own cross-validation, list
// and read them.
import { Type } from '@fastify/type-provider-typebox';
import { FalajError } from '../../core/errors.js';
import type { FalajApp, Services } from '../../http/services.js';
import { JobStore } from '../../jobs/job-store.js';
import { submitEvaluation } from './evaluation-jobs.js';
import { attachTrainerValidation, evaluateVersion } from './evaluation-service.js';
import { evaluationView, getEvaluation, listEvaluations } from './evaluation-store.js';
import { Columns, EvaluationParams, Json, locate, MODELS, TAGS, VersionParams } from './route-schemas.js';

const EvaluateBody = Type.Object(
  {
    dataset: Type.Optional(
      Type.String({
        pattern: '^[^@\\s]+@(\\d+|latest)$',
        description: 'a dataset version, NAME@N or NAME@latest',
      }),
    ),
    file: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1024,
        description: 'artifact path of a .csv or .parquet file of the project',
      }),
    ),
    target: Type.Optional(
      Type.String({ minLength: 1, maxLength: 250, description: "default: the training run's target param" }),
    ),
    sensitive: Type.Optional(Columns),
    slices: Type.Optional(Columns),
    positiveClass: Type.Optional(Type.String({ maxLength: 250 })),
    threshold: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    minGroupSize: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
    features: Type.Optional(Columns),
    task: Type.Optional(
      Type.Union([Type.Literal('binary'), Type.Literal('multiclass'), Type.Literal('regression')]),
    ),
    classes: Type.Optional(Type.Array(Type.String({ maxLength: 250 }), { minItems: 2, maxItems: 1000 })),
    submit: Type.Optional(
      Type.Boolean({
        description:
          'run the evaluation as a job (the built-in evaluator): 202 with the request and job ids; dataset versions only',
      }),
    ),
    queue: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'the job queue of submit' }),
    ),
  },
  { additionalProperties: false },
);

export async function evaluationRoutes(app: FalajApp, svc: Services): Promise<void> {
  const db = () => svc.store.db;
  const jobs = new JobStore(svc);
  const base = `${MODELS}/:name/versions/:version/evaluations`;

  app.post(
    base,
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: TAGS,
        summary:
          'Evaluate the version in process on a dataset version or a file: every trainer metric, slices, fairness per sensitive column (201: the stored evaluation); with submit, as a job (202: the evaluation request and its job)',
        params: VersionParams,
        body: EvaluateBody,
        response: { 201: Json, 202: Json },
      },
    },
    async (req, reply) => {
      const project = req.project!;
      const { model, version } = await locate(db(), project.id, req.params.name, req.params.version);
      const { submit, queue, ...input } = req.body;
      if (submit) {
        const out = await submitEvaluation(svc, req, jobs, project, model, version, {
          ...input,
          ...(queue !== undefined ? { queue } : {}),
        });
        return reply.status(202).send(out);
      }
      if (queue !== undefined)
        throw new FalajError(
          'FALAJ_INVALID_ARGUMENT',
          'queue is for an evaluation submitted as a job (submit)',
          {
            field: 'queue',
          },
        );
      const view = await evaluateVersion(svc, req, project, model, version, input);
      return reply.status(201).send(view);
    },
  );

  app.post(
    `${base}/cv`,
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: TAGS,
        summary:
          "Attach the trainer's own cross-validation (or hold-out) results as an evaluation of kind 'cv' (201; 200 when already attached)",
        params: VersionParams,
        response: { 200: Json, 201: Json },
      },
    },
    async (req, reply) => {
      const project = req.project!;
      const { model, version } = await locate(db(), project.id, req.params.name, req.params.version);
      const { created, evaluation } = await attachTrainerValidation(svc, req, project, model, version);
      return reply.status(created ? 201 : 200).send(evaluation);
    },
  );

  app.get(
    base,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: TAGS,
        summary: "The version's evaluations, newest first",
        params: VersionParams,
        response: { 200: Json },
      },
    },
    async (req) => {
      const { version } = await locate(db(), req.project!.id, req.params.name, req.params.version);
      return { evaluations: (await listEvaluations(db(), version.id)).map(evaluationView) };
    },
  );

  app.get(
    `${base}/:id`,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: TAGS,
        summary: 'One evaluation',
        params: EvaluationParams,
        response: { 200: Json },
      },
    },
    async (req) => {
      const { version } = await locate(db(), req.project!.id, req.params.name, req.params.version);
      return evaluationView(await getEvaluation(db(), version.id, req.params.id));
    },
  );
}
