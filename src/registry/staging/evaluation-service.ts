// Evaluating a model version: resolve the data (a dataset version or an uploaded file in the
// project's artifacts), fetch the version's model files, predict, score (evaluation/engine.ts)
// and store the result on the version, immutable, with the data's digest and row count, a
// lineage edge model_version → data ('evaluated') and an audit event, in one transaction.
// Anything that fails before the write (a column the model needs is missing, an unreadable
// file) stores nothing.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyRequest } from 'fastify';
import type { Transaction } from 'kysely';
import { filesAt, findArtifact } from '../../artifacts/artifact-rows.js';
import { blobToFile } from '../../artifacts/blob-file.js';
import { FalajError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { findDataset, latestVersion } from '../../data/dataset-store.js';
import { type DataVersionFacts, dataVersionByName } from '../../data/version-facts.js';
import { audited } from '../../http/audited.js';
import type { ProjectAccess } from '../../http/identity.js';
import type { Services } from '../../http/services.js';
import { recordEdge } from '../../lineage/lineage-store.js';
import type { Executor } from '../../store/executor.js';
import type { Database } from '../../store/schema.js';
import { loadRuns } from '../../tracking/run-loader.js';
import type { Task } from '../../training/estimator.js';
import type { RegisteredModelRow } from '../model-store.js';
import type { ModelVersionRow } from '../version-store.js';
import type { EvaluationResult } from './evaluation/engine.js';
import { checkKnownColumns, openModelDir, scoreFile } from './evaluation/local-run.js';
import type { EvalModel } from './evaluation/model-predictor.js';
import {
  cvEvaluation,
  type EvaluationView,
  evaluationView,
  insertEvaluation,
  type StoredResult,
} from './evaluation-store.js';

/** What a caller asks for (API body, CLI flags). */
export interface EvaluateRequest {
  /** A dataset version, "name@N" or "name@latest". */
  dataset?: string;
  /** Or a CSV or Parquet file at this artifact path of the project. */
  file?: string;
  /** The column holding the truth (default: the `target` param of the version's training run). */
  target?: string;
  sensitive?: string[];
  slices?: string[];
  positiveClass?: string;
  threshold?: number;
  minGroupSize?: number;
  /** A foreign ONNX graph with one matrix input: the columns that feed it, in order. */
  features?: string[];
  /** A foreign ONNX graph: its task and class order when the data cannot tell. */
  task?: Task;
  classes?: string[];
}

/** The data an evaluation reads, resolved in the project. */
export interface EvalSource {
  kind: 'dataset' | 'file';
  label: string;
  digest: string;
  extension: '.csv' | '.parquet';
  dataVersion: DataVersionFacts | null;
  /** Known before reading (a dataset version's stored schema). */
  columns: string[] | null;
}

const DATASET_REF = /^([^@\s]+)@(\d+|latest)$/;

/** The data source of a request: exactly one of dataset and file. */
export async function resolveSource(
  db: Executor,
  project: { id: string; name: string },
  input: Pick<EvaluateRequest, 'dataset' | 'file'>,
): Promise<EvalSource> {
  if ((input.dataset === undefined) === (input.file === undefined))
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      'give exactly one of dataset (NAME@N) and file (an artifact path)',
      {
        field: 'dataset',
      },
    );
  if (input.dataset !== undefined) {
    const m = DATASET_REF.exec(input.dataset);
    if (!m)
      throw new FalajError(
        'FALAJ_INVALID_ARGUMENT',
        `'${input.dataset}' is not a dataset version (NAME@N or NAME@latest)`,
        {
          field: 'dataset',
        },
      );
    const name = m[1] as string;
    let number = m[2] === 'latest' ? undefined : Number(m[2]);
    if (number === undefined) {
      const d = await findDataset(db, project.id, name);
      const latest = await latestVersion(db, d.id);
      number = latest ? Number(latest.version) : 0;
    }
    const v = await dataVersionByName(db, project.id, name, number);
    if (!v)
      throw new FalajError('FALAJ_NOT_FOUND', `version '${m[2]}' of dataset '${name}' does not exist`, {
        kind: 'dataset version',
        id: input.dataset,
      });
    return {
      kind: 'dataset',
      label: `${v.dataset}@${v.version}`,
      digest: v.digest,
      extension: '.parquet',
      dataVersion: v,
      columns: (JSON.parse(v.schema) as { name: string }[]).map((c) => c.name),
    };
  }
  const file = input.file as string;
  const ext = path.extname(file).toLowerCase();
  if (ext !== '.csv' && ext !== '.parquet')
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      `evaluation data must be a .csv or .parquet file, not '${file}'`,
      {
        field: 'file',
      },
    );
  const row = await findArtifact(db, project.id, file);
  if (!row)
    throw new FalajError('FALAJ_NOT_FOUND', `artifact '${file}' does not exist in '${project.name}'`, {
      path: file,
    });
  return { kind: 'file', label: file, digest: row.digest, extension: ext, dataVersion: null, columns: null };
}

/** The `target` param of the version's training run, if it has one. */
export async function runTarget(db: Executor, version: ModelVersionRow): Promise<string | undefined> {
  if (!version.run_id) return undefined;
  const [run] = await loadRuns(db, [version.run_id]);
  return run?.params.find((p) => p.key === 'target')?.value;
}

/** A private folder under the data directory (never /tmp: it may hold decrypted data). */
async function workDir(svc: Services, prefix: string): Promise<string> {
  const parent = path.join(svc.config.dataDir, 'tmp');
  await mkdir(parent, { recursive: true });
  return mkdtemp(path.join(parent, prefix));
}

/** Fetches the version's files into `dir` and opens the model in them. */
export async function openVersionModel(
  svc: Services,
  projectId: string,
  version: ModelVersionRow,
  dir: string,
  opts: { features?: readonly string[] } = {},
): Promise<EvalModel> {
  const files = modelFiles(version, await filesAt(svc.store.db, projectId, version.artifact_path));
  for (const f of files) await blobToFile(svc, f.digest, path.join(dir, f.name));
  return openModelDir(
    dir,
    files.map((f) => f.name),
    String(version.version),
    opts,
  );
}

/** Runs `fn` on the version's model, opened in a scratch folder that is removed afterwards. */
async function withVersionModel<T>(
  svc: Services,
  projectId: string,
  version: ModelVersionRow,
  input: { features?: readonly string[] },
  prefix: string,
  fn: (model: EvalModel, dir: string) => Promise<T>,
): Promise<T> {
  const dir = await workDir(svc, prefix);
  try {
    const model = await openVersionModel(
      svc,
      projectId,
      version,
      dir,
      input.features ? { features: input.features } : {},
    );
    try {
      return await fn(model, dir);
    } finally {
      await model.release();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The files of a version's model folder, by their name in it (a model directory is flat; nested
 * files are not the model's). None is an error (FALAJ_MODEL_SOURCE_INVALID).
 */
export function modelFiles(
  version: ModelVersionRow,
  files: readonly { path: string; digest: string }[],
): { name: string; path: string; digest: string }[] {
  if (files.length === 0)
    throw new FalajError(
      'FALAJ_MODEL_SOURCE_INVALID',
      `version ${version.version} has no files at '${version.artifact_path}'`,
      {
        path: version.artifact_path,
      },
    );
  const base = version.artifact_path.replace(/\/+$/, '');
  const out: { name: string; path: string; digest: string }[] = [];
  for (const f of files) {
    const name = f.path === base ? path.basename(f.path) : f.path.slice(base.length + 1);
    if (name.includes('/')) continue;
    out.push({ name, path: f.path, digest: f.digest });
  }
  return out;
}

/** Predicts and scores; no store write. */
export async function computeEvaluation(
  svc: Services,
  projectId: string,
  version: ModelVersionRow,
  source: EvalSource,
  input: EvaluateRequest & { target: string },
): Promise<{ result: EvaluationResult; runtime: string }> {
  return withVersionModel(svc, projectId, version, input, 'falaj-eval-', async (model, dir) => {
    // A dataset version's columns are known without reading it: refuse before downloading.
    checkKnownColumns(model, source, input);
    const file = await blobToFile(svc, source.digest, path.join(dir, `data${source.extension}`));
    return scoreFile(model, file, source, input);
  });
}

/**
 * The checks an evaluation makes before it reads any row, without computing it: the model
 * opens, and the dataset version's stored schema has every column the model and the request
 * need. What `--submit` does before it submits the job.
 */
export async function precheckEvaluation(
  svc: Services,
  projectId: string,
  version: ModelVersionRow,
  source: EvalSource,
  input: EvaluateRequest & { target: string },
): Promise<void> {
  await withVersionModel(svc, projectId, version, input, 'falaj-eval-check-', async (model) =>
    checkKnownColumns(model, source, input),
  );
}

function checkNames(field: string, names: readonly string[] | undefined): void {
  if (!names) return;
  if (new Set(names).size !== names.length)
    throw new FalajError('FALAJ_INVALID_ARGUMENT', `${field} names a column twice`, { field });
}

/** The request checked and resolved: its data (before anything is read) and its target column. */
export async function resolveRequest(
  svc: Services,
  project: ProjectAccess,
  version: ModelVersionRow,
  input: EvaluateRequest,
): Promise<{ source: EvalSource; target: string }> {
  checkNames('sensitive', input.sensitive);
  checkNames('slices', input.slices);
  const db = svc.store.db;
  const source = await resolveSource(db, project, input);
  const target = input.target ?? (await runTarget(db, version));
  if (!target)
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      `name the target column: version ${version.version} has no training run whose 'target' param says it`,
      { field: 'target' },
    );
  return { source, target };
}

/** Evaluates in this process and stores the result (one transaction with lineage and audit). */
export async function evaluateVersion(
  svc: Services,
  req: FastifyRequest,
  project: ProjectAccess,
  model: RegisteredModelRow,
  version: ModelVersionRow,
  input: EvaluateRequest,
): Promise<EvaluationView> {
  const { source, target } = await resolveRequest(svc, project, version, input);
  const { result, runtime } = await computeEvaluation(svc, project.id, version, source, { ...input, target });
  return storeEvaluation(
    svc,
    req,
    project,
    model,
    version,
    source,
    { ...result, data: source.label, runtime },
    null,
  );
}

/** Writes an evaluation with its lineage edge and audit event. */
export async function storeEvaluation(
  svc: Services,
  req: FastifyRequest,
  project: ProjectAccess,
  model: RegisteredModelRow,
  version: ModelVersionRow,
  source: Pick<EvalSource, 'kind' | 'label' | 'digest' | 'dataVersion'>,
  result: StoredResult,
  jobId: string | null,
  /** Runs first in the same transaction (a job's result: its request leaves 'pending'). */
  before?: (tx: Transaction<Database>, evaluationId: string) => Promise<void>,
): Promise<EvaluationView> {
  return audited(
    svc,
    req,
    async (tx) => {
      const now = svc.clock.now();
      const id = newId();
      await before?.(tx, id);
      const row = {
        id,
        version_id: version.id,
        kind: source.kind,
        data_version_id: source.dataVersion?.id ?? null,
        data_digest: source.digest,
        row_count: result.rows ?? null,
        result: JSON.stringify(result),
        job_id: jobId,
        created_at: now,
        created_by: req.identity!.username,
      };
      await insertEvaluation(tx, row);
      await recordEdge(
        tx,
        project.id,
        {
          from: { kind: 'model_version', id: version.id },
          to: source.dataVersion
            ? { kind: 'dataset_version', id: source.dataVersion.id }
            : { kind: 'file', id: source.digest },
          relation: 'evaluated',
          attrs: { digest: source.digest, rows: result.rows ?? null, data: source.label, evaluation: row.id },
        },
        now,
      );
      return {
        result: evaluationView(row),
        audit: {
          action: 'model.version.evaluate',
          objectType: 'model_version',
          objectId: `${project.name}/${model.name}@${version.version}`,
          projectId: project.id,
          details: {
            evaluation: row.id,
            data: source.label,
            digest: source.digest,
            rows: result.rows ?? null,
            sensitive: result.sensitive ?? [],
            metrics: result.metrics,
            ...(jobId ? { job: jobId } : {}),
          },
        },
      };
    },
    201,
  );
}

interface TrainerInfo {
  metrics?: Record<string, number>;
  validation?:
    | { kind: 'cv'; k: number; std: Record<string, number>; folds: Record<string, number>[] }
    | { kind: 'holdout'; fraction: number };
}

/** The trainer's own validation (model.json's `info`) of a native version, if it has one. */
export async function trainerInfo(
  svc: Services,
  projectId: string,
  version: ModelVersionRow,
): Promise<{ info: TrainerInfo; kind: string } | null> {
  const files = await filesAt(svc.store.db, projectId, version.artifact_path);
  const manifest = files.find((f) => path.basename(f.path) === 'model.json');
  if (!manifest) return null;
  const chunks: Buffer[] = [];
  for await (const c of await svc.artifacts.get(manifest.digest)) chunks.push(c as Buffer);
  try {
    const json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { info?: TrainerInfo; kind?: string };
    return json.info ? { info: json.info, kind: String(json.kind ?? '') } : null;
  } catch {
    return null;
  }
}

/**
 * Attaches the trainer's cross-validation (or hold-out) results as an evaluation of kind 'cv',
 * once: a second call answers the one already attached.
 */
export async function attachTrainerValidation(
  svc: Services,
  req: FastifyRequest,
  project: ProjectAccess,
  model: RegisteredModelRow,
  version: ModelVersionRow,
): Promise<{ created: boolean; evaluation: EvaluationView }> {
  const existing = await cvEvaluation(svc.store.db, version.id);
  if (existing) return { created: false, evaluation: evaluationView(existing) };
  const found = await trainerInfo(svc, project.id, version);
  const validation = found?.info.validation;
  if (!found?.info.metrics || !validation)
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      `version ${version.version} carries no results of the trainer's own validation (only Falaj-trained models do)`,
      { version: version.version },
    );
  const result: StoredResult = {
    data: version.run_id ? `trainer validation of run ${version.run_id}` : 'trainer validation',
    metrics: found.info.metrics,
    ...(validation.kind === 'cv'
      ? { cv: { k: validation.k, std: validation.std, folds: validation.folds } }
      : { holdout: { fraction: validation.fraction } }),
  };
  const evaluation = await audited(
    svc,
    req,
    async (tx) => {
      const row = {
        id: newId(),
        version_id: version.id,
        kind: 'cv',
        data_version_id: null,
        data_digest: null,
        row_count: null,
        result: JSON.stringify(result),
        job_id: null,
        created_at: svc.clock.now(),
        created_by: req.identity!.username,
      };
      await insertEvaluation(tx, row);
      return {
        result: evaluationView(row),
        audit: {
          action: 'model.version.evaluate',
          objectType: 'model_version',
          objectId: `${project.name}/${model.name}@${version.version}`,
          projectId: project.id,
          details: {
            evaluation: row.id,
            kind: 'cv',
            validation: validation.kind,
            metrics: found.info.metrics,
          },
        },
      };
    },
    201,
  );
  return { created: true, evaluation };
}
