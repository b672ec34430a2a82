import type { FalajApp } from '../http/services.js';
import { parseBatch, parseMetric, parseParam, parseTag } from './batch-parse.js';
import { parseDatasetInputs } from './inputs-parse.js';
import { LIMITS } from './limits.js';
import { insertMetrics } from './metric-store.js';
import { runChange } from './run-change.js';
import { loose, RUN_ID, type TrackingContext } from './tracking-context.js';
import { asRecord, runIdOf, validateKey } from './validation.js';

const P = '/api/2.0/mlflow';
const TAGS = ['mlflow'];

/**
 * MLflow's logging to a run: metrics, params, tags, batches and dataset inputs (editor). Each
 * request is one transaction with one audit event, on an active run.
 */
export function mlflowRunLogRoutes(app: FalajApp, ctx: TrackingContext): void {
  const { svc, runs } = ctx;
  const { store, clock } = svc;
  const change = runChange(ctx);

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
}
