// model_evaluations: each evaluation of a version, immutable once written (no update, no
// delete but the version's own cascade). Every function takes the caller's executor.
import { FalajError } from '../../core/errors.js';
import type { Executor } from '../../store/executor.js';
import type { ModelEvaluationsTable } from '../../store/schema.js';
import type { EvaluationResult } from './evaluation/engine.js';

export type EvaluationKind = 'dataset' | 'file' | 'cv';

/** What `result` holds: the engine's result plus what the evaluation was run on. */
export interface StoredResult extends Partial<EvaluationResult> {
  /** "dataset@N", the uploaded file's artifact path, or "cv of run <id>". */
  data: string;
  metrics: Record<string, number | null>;
  /** The model runtime that predicted ('falaj' | 'falaj-onnx' | 'onnx'), for dataset and file kinds. */
  runtime?: string;
  /** kind 'cv': folds, spread and the trainer's own parameters. */
  cv?: { k: number; std: Record<string, number>; folds: Record<string, number>[] };
  /** kind 'cv' of a model trained with a hold-out instead: the fraction held out. */
  holdout?: { fraction: number };
}

export interface EvaluationView {
  id: string;
  versionId: string;
  kind: EvaluationKind;
  dataVersionId: string | null;
  dataDigest: string | null;
  rowCount: number | null;
  jobId: string | null;
  result: StoredResult;
  createdAt: string;
  createdBy: string;
}

export function evaluationView(r: ModelEvaluationsTable): EvaluationView {
  return {
    id: r.id,
    versionId: r.version_id,
    kind: r.kind as EvaluationKind,
    dataVersionId: r.data_version_id,
    dataDigest: r.data_digest,
    rowCount: r.row_count === null ? null : Number(r.row_count),
    jobId: r.job_id,
    result: JSON.parse(r.result) as StoredResult,
    createdAt: new Date(Number(r.created_at)).toISOString(),
    createdBy: r.created_by,
  };
}

export async function insertEvaluation(tx: Executor, row: ModelEvaluationsTable): Promise<void> {
  await tx.insertInto('model_evaluations').values(row).execute();
}

/** The version's evaluations, newest first. */
export async function listEvaluations(db: Executor, versionId: string): Promise<ModelEvaluationsTable[]> {
  return db
    .selectFrom('model_evaluations')
    .selectAll()
    .where('version_id', '=', versionId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
}

export async function getEvaluation(
  db: Executor,
  versionId: string,
  id: string,
): Promise<ModelEvaluationsTable> {
  const row = await db
    .selectFrom('model_evaluations')
    .selectAll()
    .where('version_id', '=', versionId)
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row)
    throw new FalajError('FALAJ_NOT_FOUND', `evaluation '${id}' does not exist on this version`, {
      kind: 'evaluation',
      id,
    });
  return row;
}

/**
 * The evaluation the gates read: the newest on data (not the trainer's CV), optionally only
 * those on versions of one dataset (`dataVersionIds`).
 */
export async function latestDataEvaluation(
  db: Executor,
  versionId: string,
  dataVersionIds?: readonly string[],
): Promise<ModelEvaluationsTable | undefined> {
  if (dataVersionIds && dataVersionIds.length === 0) return undefined;
  let q = db
    .selectFrom('model_evaluations')
    .selectAll()
    .where('version_id', '=', versionId)
    .where('kind', 'in', ['dataset', 'file']);
  if (dataVersionIds) q = q.where('data_version_id', 'in', [...dataVersionIds]);
  return q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(1).executeTakeFirst();
}

/** The newest evaluation of the version on data with this digest (the champion's, to compare). */
export async function evaluationOnDigest(
  db: Executor,
  versionId: string,
  digest: string,
): Promise<ModelEvaluationsTable | undefined> {
  return db
    .selectFrom('model_evaluations')
    .selectAll()
    .where('version_id', '=', versionId)
    .where('data_digest', '=', digest)
    .where('kind', 'in', ['dataset', 'file'])
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/** Whether the trainer's CV results are already attached (they attach once). */
export async function cvEvaluation(
  db: Executor,
  versionId: string,
): Promise<ModelEvaluationsTable | undefined> {
  return db
    .selectFrom('model_evaluations')
    .selectAll()
    .where('version_id', '=', versionId)
    .where('kind', '=', 'cv')
    .executeTakeFirst();
}
