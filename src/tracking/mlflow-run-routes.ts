import type { FastifyRequest } from 'fastify';
import { audited } from '../http/audited.js';
import type { FalajApp } from '../http/services.js';
import { DEFAULT_EXPERIMENT_ID } from './experiment-store.js';
import { LIMITS } from './limits.js';
import { normalizeQuery, scalar } from './query.js';
import { runChange } from './run-change.js';
import { loadRuns } from './run-loader.js';
import { RUN_STATUSES, type RunStatus, runNotFound } from './run-store.js';
import { loose, RUN_ID, type TrackingContext } from './tracking-context.js';
import { asRecord, invalid, parseInt64, parseTags, runIdOf, validateString } from './validation.js';
import { wireRun, wireRunInfo } from './wire.js';

const P = '/api/2.0/mlflow';
const TAGS = ['mlflow'];

/**
 * MLflow's runs endpoints: create, get, update, delete and restore (logging to a run is in
 * mlflow-run-log-routes.ts, search in mlflow-run-search-routes.ts). Reads need viewer;
 * updates editor; run delete and restore editor too (soft and reversible, as data scientists
 * expect to tidy their own runs; deleting a whole experiment needs maintainer).
 */
export function mlflowRunRoutes(app: FalajApp, ctx: TrackingContext): void {
  const { svc, runs } = ctx;
  const { store, clock } = svc;
  const project = (req: FastifyRequest) => req.project!;
  const change = runChange(ctx);

  app.post(
    `${P}/runs/create`,
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: TAGS,
        summary: 'MLflow: create a run',
        body: loose({
          experiment_id: 'id',
          user_id: 'ignored: the run is recorded under the caller',
          run_name: 'generated when missing',
          start_time: 'ms since the epoch (default now)',
          tags: '[{key, value}]',
        }),
      },
    },
    async (req) => {
      const b = asRecord(req.body);
      const experimentId = b.experiment_id;
      if (experimentId === undefined || experimentId === null || experimentId === '')
        throw invalid("Missing value for required parameter 'experiment_id'");
      const expId = validateString('experiment_id', experimentId, 64);
      const runName =
        b.run_name === undefined || b.run_name === null || b.run_name === ''
          ? undefined
          : validateString('run_name', b.run_name, LIMITS.tagValueLength);
      const tags = parseTags('tags', b.tags);
      const startTime = parseInt64('start_time', b.start_time, clock.now());
      const id = await audited(svc, req, async (tx) => {
        // `mlflow.start_run()` with no experiment logs to "0", the default experiment; its
        // creation is recorded in this run's audit event.
        const fallback =
          expId === DEFAULT_EXPERIMENT_ID
            ? await ctx.experiments.ensureDefault(tx, {
                projectId: project(req).id,
                projectName: project(req).name,
                now: clock.now(),
              })
            : undefined;
        const experimentId = fallback?.id ?? expId;
        const runId = await runs.create(tx, {
          projectId: project(req).id,
          projectName: project(req).name,
          experimentId,
          userId: req.identity!.username,
          runName,
          startTime,
          tags,
        });
        return {
          result: runId,
          audit: {
            action: 'run.create',
            objectType: 'run',
            objectId: runId,
            projectId: project(req).id,
            details: { experimentId, ...(fallback?.created ? { defaultExperimentCreated: true } : {}) },
          },
        };
      });
      const [run] = await loadRuns(store.db, [id]);
      return { run: wireRun(run!) };
    },
  );

  app.get(
    `${P}/runs/get`,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: TAGS,
        summary: 'MLflow: get a run (info, latest metrics, params, tags, inputs)',
        querystring: loose(RUN_ID),
      },
    },
    async (req) => {
      const q = normalizeQuery(req.query);
      const id = runIdOf({ run_id: scalar(q.run_id), run_uuid: scalar(q.run_uuid) });
      await runs.require(store.db, project(req).id, id);
      const [run] = await loadRuns(store.db, [id]);
      if (!run) throw runNotFound(id);
      return { run: wireRun(run) };
    },
  );

  app.post(
    `${P}/runs/update`,
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: TAGS,
        summary: 'MLflow: update a run (status, end time, name)',
        body: loose({
          ...RUN_ID,
          status: RUN_STATUSES.join(' | '),
          end_time: 'ms since the epoch',
          run_name: '',
        }),
      },
    },
    async (req) => {
      const b = asRecord(req.body);
      const id = runIdOf(b);
      let status: RunStatus | undefined;
      if (b.status !== undefined && b.status !== null) {
        if (!RUN_STATUSES.includes(b.status as RunStatus))
          throw invalid(`Invalid value ${JSON.stringify(b.status)?.slice(0, 40)} for parameter 'status'`);
        status = b.status as RunStatus;
      }
      const endTime =
        b.end_time === undefined || b.end_time === null ? undefined : parseInt64('end_time', b.end_time);
      const runName =
        b.run_name === undefined || b.run_name === null || b.run_name === ''
          ? undefined
          : validateString('run_name', b.run_name, LIMITS.tagValueLength);
      const info = await change(
        req,
        id,
        'run.update',
        (tx) => runs.update(tx, project(req).id, id, { status, endTime, runName }),
        {
          ...(status ? { status } : {}),
          ...(endTime !== undefined ? { endTime } : {}),
          ...(runName ? { runName } : {}),
        },
      );
      return { run_info: wireRunInfo(info) };
    },
  );

  for (const action of ['delete', 'restore'] as const) {
    app.post(
      `${P}/runs/${action}`,
      {
        config: { permission: 'project:editor' },
        schema: {
          tags: TAGS,
          summary: action === 'delete' ? 'MLflow: delete a run (soft)' : 'MLflow: restore a deleted run',
          body: loose(RUN_ID),
        },
      },
      async (req) => {
        const id = runIdOf(asRecord(req.body));
        await change(
          req,
          id,
          `run.${action}`,
          (tx) =>
            runs.setLifecycle(
              tx,
              project(req).id,
              id,
              action === 'delete' ? 'deleted' : 'active',
              clock.now(),
            ),
          undefined,
          false,
        );
        return {};
      },
    );
  }
}
