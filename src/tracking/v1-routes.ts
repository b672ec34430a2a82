import { Type } from '@fastify/type-provider-typebox';
import type { FalajApp, Services } from '../http/services.js';
import { PROJECT_NAME_PATTERN } from '../projects/projects.js';
import { chunks, IN_CHUNK } from './chunks.js';
import { metricSeries } from './metric-store.js';
import { loadRuns } from './run-loader.js';
import { metricHistoryRoute } from './v1-history-route.js';
import { wireDouble } from './wire.js';

const ProjectParams = Type.Object({ project: Type.String({ pattern: PROJECT_NAME_PATTERN }) });
const RunIds = Type.Array(Type.String({ pattern: '^[0-9a-f]{32}$' }), { minItems: 1, maxItems: 100 });
const Double = Type.Union([
  Type.Number(),
  Type.Literal('NaN'),
  Type.Literal('Infinity'),
  Type.Literal('-Infinity'),
]);

/**
 * Falaj's own tracking API, shaped for the UI and SDKs rather than for MLflow compatibility:
 * the metric series of many runs in one request (columnar, ready for a chart), and a run
 * comparison that says which params and metrics differ.
 */
export async function trackingV1Routes(app: FalajApp, svc: Services): Promise<void> {
  const { store } = svc;
  metricHistoryRoute(app, svc);

  app.post(
    '/api/v1/projects/:project/runs/metric-series',
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: ['tracking'],
        summary:
          'Metric histories of many runs at once, as columns (steps, values, timestamps) per run and key',
        params: ProjectParams,
        body: Type.Object(
          {
            runIds: RunIds,
            keys: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 250 }), { maxItems: 100 })),
            /** Longer series are thinned to about this many points, keeping the first and last. */
            maxPoints: Type.Optional(Type.Integer({ minimum: 2, maximum: 100_000 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            series: Type.Array(
              Type.Object({
                runId: Type.String(),
                key: Type.String(),
                total: Type.Integer(),
                steps: Type.Array(Type.Number()),
                timestamps: Type.Array(Type.Number()),
                values: Type.Array(Double),
              }),
            ),
          }),
        },
      },
    },
    async (req) => {
      const { runIds, keys, maxPoints = 10_000 } = req.body;
      const found: Awaited<ReturnType<typeof metricSeries>> = [];
      for (const ids of chunks(runIds, IN_CHUNK))
        found.push(...(await metricSeries(store.db, req.project!.id, ids, keys)));
      return {
        series: found.map(({ runId, key, series: s }) => {
          const keep = thin(s.steps.length, maxPoints);
          return {
            runId,
            key,
            total: s.steps.length,
            steps: keep.map((i) => s.steps[i]!),
            timestamps: keep.map((i) => s.timestamps[i]!),
            values: keep.map((i) => wireDouble(s.values[i]!)),
          };
        }),
      };
    },
  );

  app.post(
    '/api/v1/projects/:project/runs/compare',
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: ['tracking'],
        summary: 'Params and latest metrics of several runs side by side, with the keys whose values differ',
        params: ProjectParams,
        body: Type.Object({ runIds: RunIds }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            runs: Type.Array(
              Type.Object({
                runId: Type.String(),
                name: Type.String(),
                status: Type.String(),
                experimentId: Type.String(),
              }),
            ),
            params: Type.Record(
              Type.String(),
              Type.Record(Type.String(), Type.Union([Type.String(), Type.Null()])),
            ),
            metrics: Type.Record(
              Type.String(),
              Type.Record(Type.String(), Type.Union([Double, Type.Null()])),
            ),
            differing: Type.Object({ params: Type.Array(Type.String()), metrics: Type.Array(Type.String()) }),
          }),
        },
      },
    },
    async (req) => {
      const loaded = (await loadRuns(store.db, req.body.runIds)).filter(
        (r) => r.info.project_id === req.project!.id,
      );
      const params: Record<string, Record<string, string | null>> = {};
      const metrics: Record<string, Record<string, ReturnType<typeof wireDouble> | null>> = {};
      for (const run of loaded) {
        for (const p of run.params) params[p.key] = {};
        for (const m of run.metrics) metrics[m.key] = {};
      }
      for (const run of loaded) {
        const id = run.info.id;
        for (const key of Object.keys(params))
          params[key]![id] = run.params.find((p) => p.key === key)?.value ?? null;
        for (const key of Object.keys(metrics)) {
          const m = run.metrics.find((x) => x.key === key);
          metrics[key]![id] = m ? wireDouble(m.value) : null;
        }
      }
      const differs = (row: Record<string, unknown>) =>
        new Set(Object.values(row).map((v) => String(v))).size > 1;
      return {
        runs: loaded.map((r) => ({
          runId: r.info.id,
          name: r.info.name,
          status: r.info.status,
          experimentId: r.info.experiment_id,
        })),
        params,
        metrics,
        differing: {
          params: Object.keys(params)
            .filter((k) => differs(params[k]!))
            .sort(),
          metrics: Object.keys(metrics)
            .filter((k) => differs(metrics[k]!))
            .sort(),
        },
      };
    },
  );
}

/** Indices of an evenly thinned series of `n` points: at most `max`, always the first and last. */
export function thin(n: number, max: number): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const out: number[] = [];
  const stride = (n - 1) / (max - 1);
  for (let i = 0; i < max; i++) out.push(Math.round(i * stride));
  return out;
}
