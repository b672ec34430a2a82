import { Type } from '@fastify/type-provider-typebox';
import { FalajError } from '../core/errors.js';
import { DATASET_NAME_PATTERN } from '../data/dataset-store.js';
import { audited } from '../http/audited.js';
import type { FalajApp, Services } from '../http/services.js';
import { PROJECT_NAME_PATTERN } from '../projects/projects.js';
import { ExperimentStore } from '../tracking/experiment-store.js';
import { RunStore } from '../tracking/run-store.js';
import { lineageGraph } from './lineage-service.js';
import { NODE_KINDS, type NodeKind } from './lineage-store.js';
import { NODE_REF_MAX } from './node-ref.js';
import { recordDatasetInput, usableDataVersion } from './run-inputs.js';

const Kind = Type.Unsafe<NodeKind>({ type: 'string', enum: [...NODE_KINDS] });
const Node = Type.Object({ kind: Kind, id: Type.String() });
const LabelledNode = Type.Object({ kind: Kind, id: Type.String(), label: Type.String() });

/**
 * The project's lineage graph, read from any node (viewer), and the one edge a client records:
 * a dataset version read by a run (editor), which `falaj train --data NAME@N` sends.
 */
export async function lineageRoutes(app: FalajApp, svc: Services): Promise<void> {
  const runs = new RunStore(new ExperimentStore(svc.store.dialect));

  app.get(
    '/api/v1/projects/:project/lineage',
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: ['lineage'],
        summary:
          'The lineage graph from a node (model:NAME@V|@ALIAS, dataset:NAME@N, run:ID, job:ID, code:DIGEST) towards its inputs (up) or its products (down)',
        params: Type.Object({ project: Type.String({ pattern: PROJECT_NAME_PATTERN }) }),
        querystring: Type.Object(
          {
            node: Type.String({ minLength: 1, maxLength: NODE_REF_MAX }),
            direction: Type.Optional(Type.Union([Type.Literal('up'), Type.Literal('down')])),
            depth: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            root: LabelledNode,
            direction: Type.Union([Type.Literal('up'), Type.Literal('down')]),
            depth: Type.Integer(),
            nodes: Type.Array(LabelledNode),
            edges: Type.Array(
              Type.Object({
                from: Node,
                to: Node,
                relation: Type.String(),
                attrs: Type.Record(Type.String(), Type.Unknown()),
                createdAt: Type.String(),
              }),
            ),
            truncated: Type.Boolean(),
          }),
        },
      },
    },
    async (req) =>
      lineageGraph(svc, req.project!.id, req.query.node, {
        direction: req.query.direction ?? 'up',
        depth: req.query.depth ?? 20,
      }),
  );

  app.post(
    '/api/v1/projects/:project/runs/:runId/inputs',
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: ['lineage'],
        summary:
          "Record a dataset version as a run's training input (MLflow dataset input and lineage edge); refused for a version that failed its suite",
        params: Type.Object({
          project: Type.String({ pattern: PROJECT_NAME_PATTERN }),
          runId: Type.String({ pattern: '^[0-9a-f]{32}$' }),
        }),
        body: Type.Object(
          {
            dataset: Type.String({ pattern: DATASET_NAME_PATTERN }),
            version: Type.Union([Type.Integer({ minimum: 1 }), Type.Literal('latest')]),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            runId: Type.String(),
            dataset: Type.String(),
            version: Type.Integer(),
            digest: Type.String(),
            rows: Type.Integer(),
          }),
        },
      },
    },
    async (req) => {
      const project = req.project!;
      const { runId } = req.params;
      return audited(svc, req, async (tx) => {
        // Run and gate checked in the transaction that records: a refusal writes nothing.
        const run = await runs.requireActive(tx, project.id, runId);
        // A job's token (run-scoped) records only on its own run or a run nested under it, should
        // the access policy (security/access/run-scope.ts) let it reach this route.
        const scope = req.identity?.token?.runId;
        if (scope && run.id !== scope && run.parent_run_id !== scope)
          throw new FalajError(
            'FALAJ_FORBIDDEN',
            `a job's token may only change its own run: run '${runId}' is not it`,
          );
        const data = await usableDataVersion(tx, project.id, req.body.dataset, String(req.body.version));
        await recordDatasetInput(tx, runs, project.id, run, data, svc.clock.now());
        return {
          result: {
            runId,
            dataset: data.dataset,
            version: data.version,
            digest: data.digest,
            rows: data.rowCount,
          },
          audit: {
            action: 'run.input.record',
            objectType: 'run',
            objectId: runId,
            projectId: project.id,
            details: { dataset: `${data.dataset}@${data.version}`, digest: data.digest, rows: data.rowCount },
          },
        };
      });
    },
  );
}
