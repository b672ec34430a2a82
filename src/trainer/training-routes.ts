import { Type } from '@fastify/type-provider-typebox';
import { FalajError } from '../core/errors.js';
import { auditBase, audited } from '../http/audited.js';
import type { FalajApp, Services } from '../http/services.js';
import { recordDatasetInput, recordFileInput } from '../lineage/run-inputs.js';
import { PROJECT_NAME_PATTERN } from '../projects/projects.js';
import type { ExperimentStore } from '../tracking/experiment-store.js';
import { createRunInExperiment } from '../tracking/run-in-experiment.js';
import type { RunStore } from '../tracking/run-store.js';
import type { ServerTrainer } from './server-training.js';
import { artifactTrainingData, datasetTrainingData } from './training-data.js';

const Columns = Type.Array(Type.String({ minLength: 1, maxLength: 250 }), { maxItems: 1000 });

/**
 * Server-side training: the data is a CSV or Parquet file already in the project's artifact
 * store; the answer (202) names the tracking run that the training logs into, which ends
 * FINISHED with metrics, params, nested trial runs and `model/` artifacts (native files and
 * model.onnx), or FAILED with the error in tag falaj.training.error.
 */
export async function trainingRoutes(
  app: FalajApp,
  svc: Services,
  { trainer, experiments, runs }: { trainer: ServerTrainer; experiments: ExperimentStore; runs: RunStore },
): Promise<void> {
  const stores = { experiments, runs };

  app.post(
    '/api/v1/projects/:project/training',
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: ['training'],
        summary: 'Train a built-in model on a project file; logs into a tracking run (202 with its id)',
        params: Type.Object({ project: Type.String({ pattern: PROJECT_NAME_PATTERN }) }),
        body: Type.Object(
          {
            data: Type.Optional(
              Type.String({
                minLength: 1,
                maxLength: 1024,
                description: 'artifact path of a .csv or .parquet file',
              }),
            ),
            dataset: Type.Optional(
              Type.String({
                pattern: '^[^@\\s]+@(\\d+|latest)$',
                description: 'a dataset version, "name@N" or "name@latest" (it must have passed its suite)',
              }),
            ),
            target: Type.String({ minLength: 1, maxLength: 250 }),
            experiment: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
            runName: Type.Optional(Type.String({ minLength: 1, maxLength: 250 })),
            model: Type.Optional(
              Type.Union([Type.Literal('gbdt'), Type.Literal('logistic'), Type.Literal('linear')]),
            ),
            features: Type.Optional(Columns),
            exclude: Type.Optional(Columns),
            weight: Type.Optional(Type.String({ minLength: 1, maxLength: 250 })),
            cv: Type.Optional(Type.Integer({ minimum: 2, maximum: 20 })),
            holdout: Type.Optional(Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 })),
            tune: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
            sampler: Type.Optional(Type.Union([Type.Literal('tpe'), Type.Literal('random')])),
            pruner: Type.Optional(
              Type.Union([Type.Literal('none'), Type.Literal('median'), Type.Literal('successive-halving')]),
            ),
            space: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
            params: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
            seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1 })),
          },
          { additionalProperties: false },
        ),
        response: {
          202: Type.Object({ runId: Type.String(), experimentId: Type.String() }),
        },
      },
    },
    async (req, reply) => {
      const project = req.project!;
      const { data, dataset, experiment = 'training', runName, ...request } = req.body;
      if ((data === undefined) === (dataset === undefined))
        throw new FalajError(
          'FALAJ_INVALID_ARGUMENT',
          'give exactly one of data (an artifact path) and dataset (name@N)',
          {
            field: 'data',
          },
        );
      const file = dataset
        ? await datasetTrainingData(svc.store.db, project.id, dataset)
        : await artifactTrainingData(svc.store.db, project, data as string);
      const accepted = await audited(
        svc,
        req,
        async (tx) => {
          const now = svc.clock.now();
          const { experimentId, runId } = await createRunInExperiment(tx, stores, {
            projectId: project.id,
            projectName: project.name,
            experiment,
            userId: req.identity!.username,
            runName: runName ?? `train-${request.model ?? 'gbdt'}`,
            now,
            tags: [
              { key: 'falaj.source', value: 'server-training' },
              { key: 'falaj.training.state', value: 'running' },
              { key: 'falaj.training.data', value: file.label },
            ],
          });
          // What the run reads, in the transaction that creates it: the run's dataset input and
          // the lineage edge dataset_version → run, or file → run for a project file.
          if (file.dataVersion)
            await recordDatasetInput(
              tx,
              runs,
              project.id,
              await runs.require(tx, project.id, runId),
              file.dataVersion,
              now,
            );
          else if (file.path)
            await recordFileInput(tx, project.id, runId, { digest: file.digest, path: file.path }, now);
          return {
            result: { runId, experimentId },
            audit: {
              action: 'training.start',
              objectType: 'run',
              objectId: runId,
              projectId: project.id,
              details: {
                data: file.label,
                digest: file.digest,
                target: request.target,
                model: request.model ?? 'gbdt',
              },
            },
          };
        },
        202,
      );
      trainer.submit({
        ...accepted,
        projectId: project.id,
        projectName: project.name,
        user: req.identity!.username,
        audit: auditBase(req),
        digest: file.digest,
        extension: file.extension,
        request,
      });
      return reply.status(202).send(accepted);
    },
  );
}
