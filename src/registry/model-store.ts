// Registered models and their tags. Every function takes the caller's executor, so it runs in
// the caller's transaction (a route's audited write, the promotion flow). Times are epoch ms.
import { FalajError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Executor } from '../store/executor.js';
import type { RegisteredModelsTable } from '../store/schema.js';

/** A registered model as stored (times as numbers on both dialects). */
export type RegisteredModelRow = RegisteredModelsTable;

export interface KeyValue {
  key: string;
  value: string;
}

/** The aliases a new model protects unless told otherwise. */
export const DEFAULT_PROTECTED_ALIASES: readonly string[] = ['production'];

export const MODEL_NAME_MAX = 256;

/**
 * A registered model name: not empty, at most 256 characters, no `/` (it would break
 * `models:/NAME/N`), no NUL. MLflow's message for an empty name.
 */
export function validateModelName(value: unknown, field = 'name'): string {
  if (value === undefined || value === null || value === '') {
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      field === 'name'
        ? 'Registered model name cannot be empty.'
        : `Missing value for required parameter '${field}'`,
    );
  }
  if (typeof value !== 'string')
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      `Invalid value for parameter '${field}': expected a string`,
    );
  if (value.length > MODEL_NAME_MAX)
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      `'${field}' of length ${value.length} exceeds the maximum length of ${MODEL_NAME_MAX}`,
    );
  if (value.includes('/') || value.includes('\u0000'))
    throw new FalajError('FALAJ_INVALID_ARGUMENT', `Invalid model name '${value}': it must not contain '/'`);
  return value;
}

export function modelNotFound(name: string): FalajError {
  return new FalajError('FALAJ_MODEL_NOT_FOUND', `Registered Model with name=${name} not found`, { name });
}

function modelExists(name: string): FalajError {
  return new FalajError('FALAJ_MODEL_EXISTS', `Registered Model (name=${name}) already exists.`, { name });
}

function fromRow(r: RegisteredModelsTable): RegisteredModelRow {
  return { ...r, created_at: Number(r.created_at), updated_at: Number(r.updated_at) };
}

export async function findModel(
  db: Executor,
  projectId: string,
  name: string,
): Promise<RegisteredModelRow | undefined> {
  const r = await db
    .selectFrom('registered_models')
    .selectAll()
    .where('project_id', '=', projectId)
    .where('name', '=', name)
    .executeTakeFirst();
  return r ? fromRow(r) : undefined;
}

/** The project's model of that name, or FALAJ_MODEL_NOT_FOUND. */
export async function getModel(db: Executor, projectId: string, name: string): Promise<RegisteredModelRow> {
  const m = await findModel(db, projectId, name);
  if (!m) throw modelNotFound(name);
  return m;
}

export async function getModelById(db: Executor, modelId: string): Promise<RegisteredModelRow | undefined> {
  const r = await db.selectFrom('registered_models').selectAll().where('id', '=', modelId).executeTakeFirst();
  return r ? fromRow(r) : undefined;
}

export interface CreateModelInput {
  projectId: string;
  name: string;
  description?: string;
  /** The creator (MLflow's user_id); it grants nothing: permissions come from the project role. */
  userId: string;
  tags?: readonly KeyValue[];
  protectedAliases?: readonly string[];
  now: number;
}

/** Creates a model; FALAJ_MODEL_EXISTS when the project has one of that name (even under a race). */
export async function createModel(db: Executor, input: CreateModelInput): Promise<RegisteredModelRow> {
  const row: RegisteredModelsTable = {
    id: newId(),
    project_id: input.projectId,
    name: input.name,
    description: input.description ?? '',
    user_id: input.userId,
    protected_aliases: JSON.stringify(input.protectedAliases ?? DEFAULT_PROTECTED_ALIASES),
    created_at: input.now,
    updated_at: input.now,
  };
  // ON CONFLICT DO NOTHING rather than catching the violation: a failed statement would abort
  // the caller's PostgreSQL transaction.
  const inserted = await db
    .insertInto('registered_models')
    .values(row)
    .onConflict((oc) => oc.columns(['project_id', 'name']).doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!inserted) throw modelExists(input.name);
  for (const t of dedupeTags(input.tags ?? [])) await setModelTag(db, row.id, t.key, t.value);
  return row;
}

/** The last value of each key wins, as repeated set-tag calls would leave it. */
export function dedupeTags(tags: readonly KeyValue[]): KeyValue[] {
  const m = new Map<string, string>();
  for (const t of tags) m.set(t.key, t.value);
  return [...m].map(([key, value]) => ({ key, value }));
}

/** Renames; FALAJ_MODEL_NOT_FOUND for an unknown name, FALAJ_MODEL_EXISTS when the new name is taken. */
export async function renameModel(
  db: Executor,
  projectId: string,
  name: string,
  newName: string,
  now: number,
): Promise<RegisteredModelRow> {
  const m = await getModel(db, projectId, name);
  if (newName === name) return m;
  if (await findModel(db, projectId, newName)) throw modelExists(newName);
  await db
    .updateTable('registered_models')
    .set({ name: newName, updated_at: now })
    .where('id', '=', m.id)
    .execute();
  return { ...m, name: newName, updated_at: now };
}

export async function updateModelDescription(
  db: Executor,
  modelId: string,
  description: string,
  now: number,
): Promise<void> {
  await db
    .updateTable('registered_models')
    .set({ description, updated_at: now })
    .where('id', '=', modelId)
    .execute();
}

/** Marks the model changed (a version added, a tag or an alias set). */
export async function touchModel(db: Executor, modelId: string, now: number): Promise<void> {
  await db.updateTable('registered_models').set({ updated_at: now }).where('id', '=', modelId).execute();
}

/** Deletes the model with its versions, tags, aliases and everything hanging from them (cascades). */
export async function deleteModel(db: Executor, modelId: string): Promise<void> {
  await db.deleteFrom('registered_models').where('id', '=', modelId).execute();
}

/** The aliases that need a promotion request on this model. */
export function protectedAliasesOf(model: Pick<RegisteredModelRow, 'protected_aliases'>): string[] {
  try {
    const v: unknown = JSON.parse(model.protected_aliases);
    return Array.isArray(v) ? v.filter((a): a is string => typeof a === 'string') : [];
  } catch {
    return [...DEFAULT_PROTECTED_ALIASES];
  }
}

/** Whether `alias` is protected on the model (alias names compare case-sensitively, as MLflow's). */
export function isProtectedAlias(
  model: Pick<RegisteredModelRow, 'protected_aliases'>,
  alias: string,
): boolean {
  return protectedAliasesOf(model).includes(alias);
}

export async function setProtectedAliases(
  db: Executor,
  modelId: string,
  aliases: readonly string[],
  now: number,
): Promise<void> {
  await db
    .updateTable('registered_models')
    .set({ protected_aliases: JSON.stringify([...new Set(aliases)]), updated_at: now })
    .where('id', '=', modelId)
    .execute();
}

export async function setModelTag(db: Executor, modelId: string, key: string, value: string): Promise<void> {
  await db
    .insertInto('registered_model_tags')
    .values({ model_id: modelId, key, value })
    .onConflict((oc) => oc.columns(['model_id', 'key']).doUpdateSet({ value }))
    .execute();
}

/** Deletes a tag; false when the model had no tag of that key. */
export async function deleteModelTag(db: Executor, modelId: string, key: string): Promise<boolean> {
  const r = await db
    .deleteFrom('registered_model_tags')
    .where('model_id', '=', modelId)
    .where('key', '=', key)
    .executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** Tags of many models at once, by model id, keys in byte order. */
export async function modelTags(db: Executor, modelIds: readonly string[]): Promise<Map<string, KeyValue[]>> {
  const out = new Map<string, KeyValue[]>();
  if (modelIds.length === 0) return out;
  const rows = await db
    .selectFrom('registered_model_tags')
    .select(['model_id', 'key', 'value'])
    .where('model_id', 'in', [...modelIds])
    .execute();
  rows.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const r of rows) {
    const list = out.get(r.model_id) ?? [];
    list.push({ key: r.key, value: r.value });
    out.set(r.model_id, list);
  }
  return out;
}

/** Every model of the project, by name. */
export async function listModels(db: Executor, projectId: string): Promise<RegisteredModelRow[]> {
  const rows = await db
    .selectFrom('registered_models')
    .selectAll()
    .where('project_id', '=', projectId)
    .orderBy('name')
    .execute();
  return rows.map(fromRow);
}

/** The names of many models at once, by id. */
export async function modelNames(db: Executor, modelIds: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (modelIds.length === 0) return out;
  const rows = await db
    .selectFrom('registered_models')
    .select(['id', 'name'])
    .where('id', 'in', [...new Set(modelIds)])
    .execute();
  for (const r of rows) out.set(r.id, r.name);
  return out;
}

/** Many models at once by id, in the order of `modelIds` (unknown ids left out). */
export async function modelsByIds(db: Executor, modelIds: readonly string[]): Promise<RegisteredModelRow[]> {
  if (modelIds.length === 0) return [];
  const rows = await db
    .selectFrom('registered_models')
    .selectAll()
    .where('id', 'in', [...modelIds])
    .execute();
  const byId = new Map(rows.map((r) => [r.id, fromRow(r)]));
  return modelIds.flatMap((id) => byId.get(id) ?? []);
}
