import type { FastifyRequest } from 'fastify';
import { FalajError } from '../../core/errors.js';
import type { Executor } from '../../store/executor.js';

// What a run-scoped token (the FALAJ_TOKEN of a job's process) may change: its own run, runs
// nested under it (a tuning study's trials), and their artifacts. It reads what its role
// allows. Checked after the body is parsed, since MLflow names the run in the body.
const READ_ONLY_POSTS = new Set([
  '/api/2.0/mlflow/runs/search',
  '/api/2.0/mlflow/experiments/search',
  '/api/2.0/mlflow/registered-models/get-latest-versions',
  '/api/v1/projects/:project/runs/metric-series',
  '/api/v1/projects/:project/runs/compare',
]);
const RUN_ARTIFACT_ROUTES = new Set([
  '/api/v1/projects/:project/artifacts/files/*',
  '/api/2.0/mlflow-artifacts/artifacts/:project/*',
]);

// Routes whose handler admits only the run-scoped token of one run (the evaluator job posting its
// evaluation request's outcome: src/registry/staging/evaluation-jobs.ts checks the request's run).
const OWN_RUN_ROUTES = new Set([
  '/api/v1/projects/:project/evaluation-requests/:id/result',
  '/api/v1/projects/:project/evaluation-requests/:id/failure',
]);

// Routes that name the run they change in the URL (`:runId`): a job records its own inputs.
const RUN_PARAM_ROUTES = new Set(['/api/v1/projects/:project/runs/:runId/inputs']);

function denied(why: string): FalajError {
  return new FalajError('FALAJ_FORBIDDEN', `a job's token may only change its own run: ${why}`);
}

async function inScope(db: Executor, scope: string, runId: unknown): Promise<boolean> {
  if (typeof runId !== 'string' || runId === '') return false;
  if (runId === scope) return true;
  const row = await db.selectFrom('runs').select('parent_run_id').where('id', '=', runId).executeTakeFirst();
  return row?.parent_run_id === scope;
}

export async function checkRunScope(db: Executor, req: FastifyRequest): Promise<void> {
  const scope = req.identity?.token?.runId;
  if (!scope || req.method === 'GET' || req.method === 'HEAD') return;
  const route = req.routeOptions.url ?? '';
  if (READ_ONLY_POSTS.has(route) || OWN_RUN_ROUTES.has(route)) return;
  const body = (req.body ?? {}) as Record<string, unknown>;
  if (route === '/api/2.0/mlflow/runs/create') {
    const tags = Array.isArray(body.tags) ? (body.tags as { key?: unknown; value?: unknown }[]) : [];
    if (tags.some((t) => t?.key === 'mlflow.parentRunId' && t.value === scope)) return;
    throw denied('new runs must be nested under it (tag mlflow.parentRunId)');
  }
  if (route.startsWith('/api/2.0/mlflow/runs/')) {
    if (await inScope(db, scope, body.run_id ?? body.run_uuid)) return;
    throw denied(`run '${String(body.run_id ?? body.run_uuid ?? '')}' is not it`);
  }
  if (RUN_PARAM_ROUTES.has(route)) {
    const runId = (req.params as Record<string, unknown>).runId;
    if (await inScope(db, scope, runId)) return;
    throw denied(`run '${String(runId ?? '')}' is not it`);
  }
  if (RUN_ARTIFACT_ROUTES.has(route)) {
    const file = String((req.params as Record<string, unknown>)['*'] ?? '');
    const m = /^runs\/([0-9a-f]{32})\//.exec(file);
    if (m && (await inScope(db, scope, m[1]))) return;
    throw denied(`artifact '${file}' is not under runs/<its run>/`);
  }
  throw denied(`${req.method} ${route} is not a change to a run`);
}
