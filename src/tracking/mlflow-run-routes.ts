import type { FastifyRequest } from 'fastify';
import type { Transaction } from 'kysely';
import { audited } from '../http/audited.js';
import type { FalajApp } from '../http/services.js';
import type { Database, RunsTable } from '../store/schema.js';
import { parseBatch, parseMetric, parseParam, parseTag } from './batch-parse.js';
import { DEFAULT_EXPERIMENT_ID } from './experiment-store.js';
import { parseDatasetInputs } from './inputs-parse.js';
import { LIMITS } from './limits.js';
import { insertMetrics, metricHistory } from './metric-store.js';
import { normalizeQuery, scalar } from './query.js';
import { loadRuns } from './run-loader.js';
import { RUN_STATUSES, type RunStatus, runNotFound } from './run-store.js';
import { searchRunIds } from './search/index.js';
import { loose, type TrackingContext } from './tracking-context.js';
import {
  asRecord,
  invalid,
  parseInt64,
  parseMaxResults,
  parseStringList,
  parseTags,
  parseViewType,
  runIdOf,
  validateKey,
  validateString,
} from './validation.js';
import { historyJson, wireRun, wireRunInfo } from './wire.js';

const P = '/api/2.0/mlflow';
const TAGS = ['mlflow'];
const RUN_ID = { run_id: 'the run id', run_uuid: 'legacy name of run_id' };

/**
 * MLflow's runs and metrics endpoints. Reads need viewer; logging, tags and updates editor;
 * run delete and restore editor too (soft and reversible, as data scientists expect to tidy
 * their own runs; deleting a whole experiment needs maintainer).
 */
export function mlflowRunRoutes(app: FalajApp, ctx: TrackingContext): void {
  const { svc, runs } = ctx;
  const { store, clock } = svc;
  const project = (req: FastifyRequest) => req.project!;

  /** A change to an active run, with one audit event for the whole request. */
  const change = <T>(
    req: FastifyRequest,
    runId: string,
    action: string,
    fn: (tx: Transaction<Database>, run: RunsTable) => Promise<T>,
    details?: Record<string, unknown>,
    requireActive = true,
  ) =>
    audited(svc, req, async (tx) => {
      const run = requireActive
        ? await runs.requireActive(tx, project(req).id, runId)
        : await runs.require(tx, project(req).id, runId);
      const result = await fn(tx, run);
      return {
        result,
        audit: {
          action,
          objectType: 'run',
          objectId: runId,
          projectId: project(req).id,
          ...(details ? { details } : {}),
        },
      };
    });

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

  app.post(
    `${P}/runs/log-metric`,
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: TAGS,
        summary: 'MLflow: log one metric value',
        body: loose({
          ...RUN_ID,
          key: '',
          value: 'number, or "NaN" / "Infinity" / "-Infinity"',
          timestamp: 'ms',
          step: 'default 0',
        }),
      },
    },
    async (req) => {
      const b = asRecord(req.body);
      const id = runIdOf(b);
      const point = parseMetric(b, clock.now());
      await change(req, id, 'run.log-metric', (tx) => insertMetrics(tx, store.dialect, id, [point]), {
        key: point.key,
      });
      return {};
    },
  );

  app.post(
    `${P}/runs/log-parameter`,
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: TAGS,
        summary: 'MLflow: log a param (immutable once logged)',
        body: loose({ ...RUN_ID, key: '', value: '' }),
      },
    },
    async (req) => {
      const b = asRecord(req.body);
      const id = runIdOf(b);
      const param = parseParam(b);
      await change(req, id, 'run.log-param', (tx) => runs.logParams(tx, id, [param]), { key: param.key });
      return {};
    },
  );

  app.post(
    `${P}/runs/set-tag`,
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: TAGS,
        summary: 'MLflow: set a run tag',
        body: loose({ ...RUN_ID, key: '', value: '' }),
      },
    },
    async (req) => {
      const b = asRecord(req.body);
      const id = runIdOf(b);
      const tag = parseTag(b);
      await change(req, id, 'run.tag.set', (tx) => runs.setTags(tx, id, [tag]), { key: tag.key });
      return {};
    },
  );

  app.post(
    `${P}/runs/delete-tag`,
    {
      config: { permission: 'project:editor' },
      schema: { tags: TAGS, summary: 'MLflow: delete a run tag', body: loose({ ...RUN_ID, key: '' }) },
    },
    async (req) => {
      const b = asRecord(req.body);
      const id = runIdOf(b);
      const key = validateKey('tag', b.key);
      await change(req, id, 'run.tag.delete', (tx) => runs.deleteTag(tx, id, key), { key });
      return {};
    },
  );

  app.post(
    `${P}/runs/log-batch`,
    {
      config: { permission: 'project:editor' },
      // MLflow's limit for this route; a larger body is INVALID_PARAMETER_VALUE (see mlflow-errors.ts).
      bodyLimit: LIMITS.batchBodyBytes,
      schema: {
        tags: TAGS,
        summary:
          'MLflow: log metrics, params and tags at once (all or nothing; ≤1000 metrics, 100 params, 100 tags, 1 MB)',
        body: loose({
          ...RUN_ID,
          metrics: '[{key, value, timestamp, step}]',
          params: '[{key, value}]',
          tags: '[{key, value}]',
        }),
      },
    },
    async (req) => {
      const b = asRecord(req.body);
      const id = runIdOf(b);
      const batch = parseBatch(b, clock.now());
      await change(
        req,
        id,
        'run.log-batch',
        async (tx) => {
          await runs.logParams(tx, id, batch.params);
          await runs.setTags(tx, id, batch.tags);
          await insertMetrics(tx, store.dialect, id, batch.metrics);
        },
        { metrics: batch.metrics.length, params: batch.params.length, tags: batch.tags.length },
      );
      return {};
    },
  );

  app.post(
    `${P}/runs/log-inputs`,
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: TAGS,
        summary: 'MLflow: log dataset inputs of a run',
        body: loose({
          ...RUN_ID,
          datasets: '[{tags, dataset: {name, digest, source_type, source, schema, profile}}]',
        }),
      },
    },
    async (req) => {
      const b = asRecord(req.body);
      const id = runIdOf(b);
      const inputs = parseDatasetInputs(b.datasets);
      await change(req, id, 'run.log-inputs', (tx, run) => runs.logInputs(tx, run, inputs), {
        datasets: inputs.map((i) => `${i.dataset.name}@${i.dataset.digest}`),
      });
      return {};
    },
  );

  app.post(
    `${P}/runs/search`,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: TAGS,
        summary: 'MLflow: search runs with a filter, order and pages',
        body: loose({
          experiment_ids: 'list of ids',
          filter: "e.g. metrics.auc > 0.9 and params.depth = '6'",
          run_view_type: 'ACTIVE_ONLY | DELETED_ONLY | ALL',
          max_results: 'default 1000, at most 50000',
          order_by: 'list, e.g. metrics.auc DESC',
          page_token: 'from the previous page',
        }),
      },
    },
    async (req) => {
      const b = asRecord(req.body);
      const filter =
        b.filter === undefined || b.filter === null ? undefined : validateString('filter', b.filter, 100_000);
      const pageToken =
        b.page_token === undefined || b.page_token === null || b.page_token === ''
          ? undefined
          : validateString('page_token', b.page_token, 10_000);
      const { runIds, nextPageToken } = await searchRunIds(store.db, store.dialect, {
        projectId: project(req).id,
        experimentIds: await Promise.all(
          parseStringList('experiment_ids', b.experiment_ids).map((e) =>
            ctx.experiments.resolve(store.db, project(req).id, e),
          ),
        ),
        ...(filter ? { filter } : {}),
        orderBy: parseStringList('order_by', b.order_by),
        maxResults: parseMaxResults(b.max_results, LIMITS.searchRunsDefault, LIMITS.searchRunsMax),
        ...(pageToken ? { pageToken } : {}),
        viewType: parseViewType('run_view_type', b.run_view_type),
      });
      const found = await loadRuns(store.db, runIds);
      return {
        ...(found.length > 0 ? { runs: found.map(wireRun) } : {}),
        ...(nextPageToken ? { next_page_token: nextPageToken } : {}),
      };
    },
  );

  app.get(
    `${P}/metrics/get-history`,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: TAGS,
        summary: 'MLflow: the history of one metric of a run, in pages',
        querystring: loose({ ...RUN_ID, metric_key: '', page_token: '', max_results: 'default 25000' }),
      },
    },
    async (req, reply) => {
      const q = normalizeQuery(req.query);
      const id = runIdOf({ run_id: scalar(q.run_id), run_uuid: scalar(q.run_uuid) });
      const key = scalar(q.metric_key);
      if (typeof key !== 'string' || key === '')
        throw invalid("Missing value for required parameter 'metric_key'");
      const max = parseMaxResults(scalar(q.max_results), LIMITS.historyDefault, LIMITS.historyMax);
      await runs.require(store.db, project(req).id, id);
      const page = await metricHistory(store.db, id, key, max, q.page_token);
      return reply.type('application/json; charset=utf-8').send(historyJson(page));
    },
  );
}
