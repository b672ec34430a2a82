// Model versions and their tags. Versions are numbered per model from 1; two registrations
// racing for the same number cannot both take it (the unique (model_id, version) constraint),
// and the loser takes the next one. Every function takes the caller's executor.
import { FalajError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Executor } from '../store/executor.js';
import type { ModelVersionsTable } from '../store/schema.js';
import { dedupeTags, type KeyValue, touchModel } from './model-store.js';

export type ModelVersionRow = ModelVersionsTable;

/** MLflow's deprecated stages, in their canonical spelling. */
export const STAGES = ['None', 'Staging', 'Production', 'Archived'] as const;
export type Stage = (typeof STAGES)[number];

/** A stage name in any case ('production', 'PRODUCTION'), as MLflow accepts it; undefined if none. */
export function canonicalStage(value: string): Stage | undefined {
  return STAGES.find((s) => s.toLowerCase() === value.toLowerCase());
}

/** The input and output schema of a model, read from its ONNX graph. */
export interface TensorSpec {
  name: string;
  /** ONNX element type name (`double`, `float`, `string`, `int64`...), or `sequence`/`map` etc. */
  type: string;
  /** Dimensions; a symbolic or unknown one is null (or its name as a string when it has one). */
  shape: (number | string | null)[] | null;
}
export interface Signature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

export function versionNotFound(name: string, version: number | string): FalajError {
  return new FalajError(
    'FALAJ_MODEL_VERSION_NOT_FOUND',
    `Model Version (name=${name}, version=${version}) not found`,
    { name, version: String(version) },
  );
}

/**
 * A version number as MLflow sends it: a string (or number) holding a positive integer.
 * Anything else is FALAJ_INVALID_ARGUMENT with MLflow's wording.
 */
export function parseVersionNumber(value: unknown, field = 'version'): number {
  if (value === undefined || value === null || value === '')
    throw new FalajError('FALAJ_INVALID_ARGUMENT', `Missing value for required parameter '${field}'`);
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^\d{1,15}$/.test(text.trim()) || Number(text) < 1)
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      `Parameter '${field}' must be an integer, got '${String(value).slice(0, 60)}'.`,
    );
  return Number(text);
}

function fromRow(r: ModelVersionsTable): ModelVersionRow {
  return {
    ...r,
    version: Number(r.version),
    created_at: Number(r.created_at),
    updated_at: Number(r.updated_at),
  };
}

export interface CreateVersionInput {
  modelId: string;
  /** What the client gave as the source (`runs:/...`, an artifact URI). */
  source: string;
  runId?: string | null;
  runLink?: string;
  description?: string;
  userId: string;
  /** The artifact-store prefix holding the version's files. */
  artifactPath: string;
  /** 'falaj' (native model directory) | 'onnx' (uploaded ONNX graph) | 'external' (other files). */
  format: string;
  signature?: Signature | null;
  tags?: readonly KeyValue[];
  now: number;
}

/** How many times a registration retries when a concurrent one took its number. */
const NUMBER_RETRIES = 20;

/**
 * Registers the next version of a model (status READY at once) and marks the model updated.
 * Under a race the unique (model_id, version) constraint refuses the second insert of a number
 * (ON CONFLICT DO NOTHING, so the caller's transaction stays usable) and it tries the next one.
 */
export async function createVersion(db: Executor, input: CreateVersionInput): Promise<ModelVersionRow> {
  for (let attempt = 0; attempt < NUMBER_RETRIES; attempt++) {
    const max = await db
      .selectFrom('model_versions')
      .select((eb) => eb.fn.max('version').as('max'))
      .where('model_id', '=', input.modelId)
      .executeTakeFirst();
    const row: ModelVersionsTable = {
      id: newId(),
      model_id: input.modelId,
      version: Number(max?.max ?? 0) + 1,
      source: input.source,
      run_id: input.runId ?? null,
      run_link: input.runLink ?? '',
      description: input.description ?? '',
      user_id: input.userId,
      status: 'READY',
      status_message: '',
      stage: 'None',
      artifact_path: input.artifactPath,
      format: input.format,
      signature: input.signature ? JSON.stringify(input.signature) : null,
      card: null,
      created_at: input.now,
      updated_at: input.now,
    };
    const inserted = await db
      .insertInto('model_versions')
      .values(row)
      .onConflict((oc) => oc.columns(['model_id', 'version']).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!inserted) continue;
    for (const t of dedupeTags(input.tags ?? [])) await setVersionTag(db, row.id, t.key, t.value);
    await touchModel(db, input.modelId, input.now);
    return row;
  }
  throw new FalajError(
    'FALAJ_CONFLICT',
    'could not allocate a version number: too many concurrent registrations',
  );
}

export async function findVersion(
  db: Executor,
  modelId: string,
  version: number,
): Promise<ModelVersionRow | undefined> {
  const r = await db
    .selectFrom('model_versions')
    .selectAll()
    .where('model_id', '=', modelId)
    .where('version', '=', version)
    .executeTakeFirst();
  return r ? fromRow(r) : undefined;
}

/** The version, or FALAJ_MODEL_VERSION_NOT_FOUND naming the model. */
export async function getVersion(
  db: Executor,
  model: { id: string; name: string },
  version: number,
): Promise<ModelVersionRow> {
  const v = await findVersion(db, model.id, version);
  if (!v) throw versionNotFound(model.name, version);
  return v;
}

export async function getVersionById(db: Executor, versionId: string): Promise<ModelVersionRow | undefined> {
  const r = await db.selectFrom('model_versions').selectAll().where('id', '=', versionId).executeTakeFirst();
  return r ? fromRow(r) : undefined;
}

/** The highest-numbered version of the model, if it has any. */
export async function latestVersion(db: Executor, modelId: string): Promise<ModelVersionRow | undefined> {
  const r = await db
    .selectFrom('model_versions')
    .selectAll()
    .where('model_id', '=', modelId)
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirst();
  return r ? fromRow(r) : undefined;
}

/** Every version of the model, newest first. */
export async function listVersions(db: Executor, modelId: string): Promise<ModelVersionRow[]> {
  const rows = await db
    .selectFrom('model_versions')
    .selectAll()
    .where('model_id', '=', modelId)
    .orderBy('version', 'desc')
    .execute();
  return rows.map(fromRow);
}

/**
 * MLflow's get-latest-versions: the highest version in each stage (each of `stages`, or every
 * stage when empty), ordered by stage then version.
 */
export async function latestVersionsPerStage(
  db: Executor,
  modelIds: readonly string[],
  stages: readonly Stage[] = [],
): Promise<Map<string, ModelVersionRow[]>> {
  const out = new Map<string, ModelVersionRow[]>();
  if (modelIds.length === 0) return out;
  let q = db
    .selectFrom('model_versions')
    .selectAll()
    .where('model_id', 'in', [...modelIds]);
  if (stages.length > 0) q = q.where('stage', 'in', [...stages]);
  const rows = (await q.execute()).map(fromRow);
  const best = new Map<string, ModelVersionRow>();
  for (const r of rows) {
    const key = `${r.model_id}\u0000${r.stage}`;
    const b = best.get(key);
    if (!b || r.version > b.version) best.set(key, r);
  }
  const order = (s: string) => STAGES.indexOf(s as Stage);
  for (const r of [...best.values()].sort(
    (a, b) => order(a.stage) - order(b.stage) || a.version - b.version,
  )) {
    const list = out.get(r.model_id) ?? [];
    list.push(r);
    out.set(r.model_id, list);
  }
  return out;
}

/** The highest version currently in `stage` (for `models:/NAME/<Stage>`). */
export async function latestInStage(
  db: Executor,
  modelId: string,
  stage: Stage,
): Promise<ModelVersionRow | undefined> {
  const r = await db
    .selectFrom('model_versions')
    .selectAll()
    .where('model_id', '=', modelId)
    .where('stage', '=', stage)
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirst();
  return r ? fromRow(r) : undefined;
}

/** The versions of the model in `stage`, newest first. */
export async function versionsInStage(
  db: Executor,
  modelId: string,
  stage: Stage,
): Promise<ModelVersionRow[]> {
  const rows = await db
    .selectFrom('model_versions')
    .selectAll()
    .where('model_id', '=', modelId)
    .where('stage', '=', stage)
    .orderBy('version', 'desc')
    .execute();
  return rows.map(fromRow);
}

export async function updateVersionDescription(
  db: Executor,
  versionId: string,
  description: string,
  now: number,
): Promise<void> {
  await db
    .updateTable('model_versions')
    .set({ description, updated_at: now })
    .where('id', '=', versionId)
    .execute();
}

/** Sets MLflow's stage column (the alias side of a transition is the caller's: see mlflow-stage.ts). */
export async function setVersionStage(
  db: Executor,
  versionId: string,
  stage: Stage,
  now: number,
): Promise<void> {
  await db
    .updateTable('model_versions')
    .set({ stage, updated_at: now })
    .where('id', '=', versionId)
    .execute();
}

/** Sets the optional hand-written parts of the model card (JSON {intended_use?, limitations?}). */
export async function setVersionCard(
  db: Executor,
  versionId: string,
  card: Record<string, unknown> | null,
  now: number,
): Promise<void> {
  await db
    .updateTable('model_versions')
    .set({ card: card ? JSON.stringify(card) : null, updated_at: now })
    .where('id', '=', versionId)
    .execute();
}

/** Deletes a version with its tags, aliases and everything hanging from it (cascades). */
export async function deleteVersion(db: Executor, versionId: string): Promise<void> {
  await db.deleteFrom('model_versions').where('id', '=', versionId).execute();
}

export async function setVersionTag(
  db: Executor,
  versionId: string,
  key: string,
  value: string,
): Promise<void> {
  await db
    .insertInto('model_version_tags')
    .values({ version_id: versionId, key, value })
    .onConflict((oc) => oc.columns(['version_id', 'key']).doUpdateSet({ value }))
    .execute();
}

/** Deletes a tag; false when the version had no tag of that key. */
export async function deleteVersionTag(db: Executor, versionId: string, key: string): Promise<boolean> {
  const r = await db
    .deleteFrom('model_version_tags')
    .where('version_id', '=', versionId)
    .where('key', '=', key)
    .executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** Tags of many versions at once, by version id, keys in byte order. */
export async function versionTags(
  db: Executor,
  versionIds: readonly string[],
): Promise<Map<string, KeyValue[]>> {
  const out = new Map<string, KeyValue[]>();
  if (versionIds.length === 0) return out;
  const rows = await db
    .selectFrom('model_version_tags')
    .select(['version_id', 'key', 'value'])
    .where('version_id', 'in', [...versionIds])
    .execute();
  rows.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const r of rows) {
    const list = out.get(r.version_id) ?? [];
    list.push({ key: r.key, value: r.value });
    out.set(r.version_id, list);
  }
  return out;
}

/** The signature stored on a version, if any. */
export function signatureOf(v: Pick<ModelVersionRow, 'signature'>): Signature | null {
  if (!v.signature) return null;
  try {
    return JSON.parse(v.signature) as Signature;
  } catch {
    return null;
  }
}

/** Many versions at once by id, in the order of `versionIds` (unknown ids left out). */
export async function versionsByIds(db: Executor, versionIds: readonly string[]): Promise<ModelVersionRow[]> {
  if (versionIds.length === 0) return [];
  const out = new Map<string, ModelVersionRow>();
  // In slices: SQLite binds at most 32,766 parameters, and a version search pages 200,000 ids.
  for (let i = 0; i < versionIds.length; i += 5000) {
    const rows = await db
      .selectFrom('model_versions')
      .selectAll()
      .where('id', 'in', versionIds.slice(i, i + 5000))
      .execute();
    for (const r of rows) out.set(r.id, fromRow(r));
  }
  return versionIds.flatMap((id) => out.get(id) ?? []);
}
