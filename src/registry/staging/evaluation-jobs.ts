// Evaluations run as jobs (`falaj models evaluate --submit`). The server checks the request as
// the in-process path does (the version, the dataset version, every column the model and the
// request need), builds the job's command itself — the built-in evaluator, never a caller's
// command — and records a pending request beside the job, in one transaction.
//
// A stored evaluation is evidence the gates judge, and anything a job's run holds an editor can
// write too. So the result does not travel through the run: the evaluator posts it to its
// request, and only the run-scoped token of that request's own run may (no user session or
// token, no other job's token). The server stores it with what it knows itself — the dataset
// version and its digest — through the same store function as the in-process path (lineage
// edge, audit event), and the request leaves `pending` once, by a conditional update in that
// transaction.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyRequest } from 'fastify';
import { filesAt } from '../../artifacts/artifact-rows.js';
import { FalajError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { dataVersionsByIds } from '../../data/version-facts.js';
import { audited } from '../../http/audited.js';
import type { ProjectAccess } from '../../http/identity.js';
import type { Services } from '../../http/services.js';
import { parseJobSpec } from '../../jobs/job-spec.js';
import type { JobStore } from '../../jobs/job-store.js';
import { checkSubmission, submitJobIn } from '../../jobs/submit.js';
import type { Executor } from '../../store/executor.js';
import type { EvaluationRequestsTable } from '../../store/schema.js';
import { getModelById, type RegisteredModelRow } from '../model-store.js';
import { getVersionById, type ModelVersionRow } from '../version-store.js';
import type { EvaluationOptions } from './evaluation/local-run.js';
import {
  type EvaluateRequest,
  modelFiles,
  precheckEvaluation,
  resolveRequest,
  storeEvaluation,
} from './evaluation-service.js';
import type { EvaluationView, StoredResult } from './evaluation-store.js';

/** bin/falaj.js of this installation, from dist/registry/staging/ or src/registry/staging/ alike. */
const CLI_SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/falaj.js');

/** The command of the evaluator job: built here, from the request id alone. */
export function evaluatorCommand(requestId: string): string[] {
  return [process.execPath, CLI_SCRIPT, 'models', 'evaluate-worker', '--request', requestId];
}

export type RequestState = 'pending' | 'done' | 'failed';

/** What the evaluator reads, and what `GET .../evaluation-requests/:id` shows. */
export interface EvaluationRequestView {
  id: string;
  state: RequestState;
  model: string;
  version: number;
  versionId: string;
  jobId: string;
  runId: string;
  /** The job's state, when the job still exists. */
  jobState: string | null;
  /** The request as checked: the dataset version pinned (NAME@N), the target named. */
  request: EvaluationOptions & { dataset: string };
  dataVersionId: string | null;
  dataDigest: string | null;
  /** The dataset version's columns (its stored schema). */
  dataColumns: string[] | null;
  /** The version's model files (flat), by name in the model folder, artifact path and digest. */
  modelFiles: { name: string; path: string; digest: string }[];
  evaluationId: string | null;
  error: string | null;
  createdAt: string;
  createdBy: string;
  endedAt: string | null;
}

/**
 * Checks the request as the in-process path would, then submits the evaluator job and records
 * the pending request (202). Only dataset versions: an uploaded file's path may be replaced
 * between now and the job's download, a dataset version's Parquet may not.
 */
export async function submitEvaluation(
  svc: Services,
  req: FastifyRequest,
  jobs: JobStore,
  project: ProjectAccess,
  model: RegisteredModelRow,
  version: ModelVersionRow,
  input: EvaluateRequest & { queue?: string },
): Promise<{ id: string; jobId: string; runId: string; state: RequestState }> {
  if (input.dataset === undefined || input.file !== undefined)
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      'an evaluation submitted as a job reads a dataset version: give dataset (NAME@N), not file',
      { field: 'dataset' },
    );
  const { queue, ...rest } = input;
  const { source, target } = await resolveRequest(svc, project, version, rest);
  await precheckEvaluation(svc, project.id, version, source, { ...rest, target });
  const request: EvaluationOptions & { dataset: string } = { ...rest, dataset: source.label, target };
  delete (request as { file?: unknown }).file;
  const id = newId();
  const spec = parseJobSpec({
    name: `evaluate-${model.name}-v${version.version}`.slice(0, 200),
    command: evaluatorCommand(id),
    queue: queue ?? 'default',
    resources: { cpu: 1, memory: '4Gi' },
  });
  await checkSubmission(svc, project, spec);
  const user = req.identity!.username;
  return audited(
    svc,
    req,
    async (tx) => {
      const job = await submitJobIn(
        svc,
        req,
        jobs,
        tx,
        {
          project,
          spec,
          user,
          experiment: 'evaluations',
          tags: [
            { key: 'falaj.evaluation.request', value: id },
            { key: 'falaj.evaluation.model', value: `${model.name}@${version.version}` },
          ],
        },
        202,
      );
      const row: EvaluationRequestsTable = {
        id,
        version_id: version.id,
        job_id: job.id,
        run_id: job.run_id as string,
        request: JSON.stringify(request),
        data_version_id: source.dataVersion?.id ?? null,
        state: 'pending',
        evaluation_id: null,
        error: null,
        created_at: svc.clock.now(),
        created_by: user,
        ended_at: null,
      };
      await tx.insertInto('evaluation_requests').values(row).execute();
      return {
        result: { id, jobId: job.id, runId: row.run_id, state: 'pending' as const },
        audit: {
          action: 'model.version.evaluate.submit',
          objectType: 'model_version',
          objectId: `${project.name}/${model.name}@${version.version}`,
          projectId: project.id,
          details: { request: id, job: job.id, data: source.label, digest: source.digest },
        },
      };
    },
    202,
  );
}

/** The request of the project, or FALAJ_NOT_FOUND (another project's request is not found either). */
export async function findRequest(
  db: Executor,
  projectId: string,
  id: string,
): Promise<{ row: EvaluationRequestsTable; model: RegisteredModelRow; version: ModelVersionRow }> {
  const row = await db.selectFrom('evaluation_requests').selectAll().where('id', '=', id).executeTakeFirst();
  const version = row ? await getVersionById(db, row.version_id) : undefined;
  const model = version ? await getModelById(db, version.model_id) : undefined;
  if (!row || !version || !model || model.project_id !== projectId)
    throw new FalajError('FALAJ_NOT_FOUND', `evaluation request '${id}' does not exist`, {
      kind: 'evaluation request',
      id,
    });
  return { row, model, version };
}

export async function requestView(
  svc: Services,
  jobs: JobStore,
  projectId: string,
  id: string,
): Promise<EvaluationRequestView> {
  const db = svc.store.db;
  const { row, model, version } = await findRequest(db, projectId, id);
  const [data] = row.data_version_id ? await dataVersionsByIds(db, projectId, [row.data_version_id]) : [];
  const job = await jobs.get(db, projectId, row.job_id).catch(() => undefined);
  let state = row.state as RequestState;
  let error = row.error;
  // A job that ended without posting a result leaves its request pending: shown as failed.
  if (state === 'pending' && job && ['succeeded', 'failed', 'cancelled'].includes(job.state)) {
    state = 'failed';
    error = `job ${job.id} ended (${job.state}) without a result${job.reason ? `: ${job.reason}` : ''}`;
  }
  let files: EvaluationRequestView['modelFiles'] = [];
  if (state === 'pending')
    files = modelFiles(version, await filesAt(db, projectId, version.artifact_path)).map((f) => ({
      name: f.name,
      path: f.path,
      digest: f.digest,
    }));
  return {
    id: row.id,
    state,
    model: model.name,
    version: Number(version.version),
    versionId: version.id,
    jobId: row.job_id,
    runId: row.run_id,
    jobState: job?.state ?? null,
    request: JSON.parse(row.request) as EvaluationRequestView['request'],
    dataVersionId: row.data_version_id,
    dataDigest: data?.digest ?? null,
    dataColumns: data ? (JSON.parse(data.schema) as { name: string }[]).map((c) => c.name) : null,
    modelFiles: files,
    evaluationId: row.evaluation_id,
    error,
    createdAt: new Date(Number(row.created_at)).toISOString(),
    createdBy: row.created_by,
    endedAt: row.ended_at === null ? null : new Date(Number(row.ended_at)).toISOString(),
  };
}

/**
 * Only the run-scoped token of the request's own run (the evaluator job's FALAJ_TOKEN) writes
 * a request's outcome: FALAJ_FORBIDDEN for anyone else, whatever their role.
 */
function assertRequestJob(req: FastifyRequest, row: EvaluationRequestsTable): void {
  const runId = req.identity?.token?.runId;
  if (runId === undefined || runId !== row.run_id)
    throw new FalajError(
      'FALAJ_FORBIDDEN',
      "only the evaluation's own job (its run-scoped token) may post its result",
      { reason: 'not-the-evaluation-job', request: row.id },
    );
}

function notPending(row: EvaluationRequestsTable): FalajError {
  return new FalajError('FALAJ_CONFLICT', `evaluation request ${row.id} is no longer pending`, {
    id: row.id,
  });
}

/** The pending request leaves `pending`, once: false when another writer got there first. */
async function settle(
  tx: Executor,
  id: string,
  patch: { state: RequestState; evaluation_id?: string; error?: string; ended_at: number },
): Promise<boolean> {
  const r = await tx
    .updateTable('evaluation_requests')
    .set(patch)
    .where('id', '=', id)
    .where('state', '=', 'pending')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** What the evaluator posts: the engine's result and the runtime that predicted. */
export interface PostedResult {
  result: Record<string, unknown> & { metrics: Record<string, number | null>; rows?: number };
  runtime: string;
}

/** Stores the job's result as the version's evaluation (201); the request becomes `done`. */
export async function acceptResult(
  svc: Services,
  req: FastifyRequest,
  project: ProjectAccess,
  id: string,
  posted: PostedResult,
): Promise<EvaluationView> {
  const db = svc.store.db;
  const { row, model, version } = await findRequest(db, project.id, id);
  assertRequestJob(req, row);
  if (row.state !== 'pending') throw notPending(row);
  const [data] = row.data_version_id ? await dataVersionsByIds(db, project.id, [row.data_version_id]) : [];
  if (!data)
    throw new FalajError('FALAJ_NOT_FOUND', `the dataset version of evaluation request ${id} is gone`, {
      kind: 'dataset version',
      id: row.data_version_id,
    });
  // What the server knows is stored, not what the job says: the data's label and digest.
  const source = {
    kind: 'dataset' as const,
    label: `${data.dataset}@${data.version}`,
    digest: data.digest,
    dataVersion: data,
  };
  const result: StoredResult = { ...posted.result, data: source.label, runtime: posted.runtime };
  return storeEvaluation(
    svc,
    req,
    project,
    model,
    version,
    source,
    result,
    row.job_id,
    async (tx, evaluationId) => {
      if (!(await settle(tx, id, { state: 'done', evaluation_id: evaluationId, ended_at: svc.clock.now() })))
        throw notPending(row);
    },
  );
}

/** The evaluator could not compute the evaluation: the request becomes `failed` with its reason. */
export async function acceptFailure(
  svc: Services,
  req: FastifyRequest,
  project: ProjectAccess,
  id: string,
  error: string,
): Promise<void> {
  const { row, model, version } = await findRequest(svc.store.db, project.id, id);
  assertRequestJob(req, row);
  if (row.state !== 'pending') throw notPending(row);
  await audited(svc, req, async (tx) => {
    if (!(await settle(tx, id, { state: 'failed', error, ended_at: svc.clock.now() }))) throw notPending(row);
    return {
      result: null,
      audit: {
        action: 'model.version.evaluate.fail',
        objectType: 'model_version',
        objectId: `${project.name}/${model.name}@${version.version}`,
        projectId: project.id,
        details: { request: id, job: row.job_id, error },
      },
    };
  });
}
