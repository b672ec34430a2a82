// Aliases: a name on a registered model pointing at one of its versions (`champion`,
// `production`). This store is raw: it checks the name's shape, never whether the alias is
// protected; the MLflow and v1 routes refuse protected aliases, and the promotion flow calls
// setAlias itself once a request is approved.
import { FalajError } from '../core/errors.js';
import type { Executor } from '../store/executor.js';

export interface AliasRow {
  alias: string;
  versionId: string;
  /** The version's number. */
  version: number;
  updatedAt: number;
  updatedBy: string;
}

export const ALIAS_MAX = 255;
const ALIAS_PATTERN = /^[\w-]*$/;
const RESERVED_VERSION_ALIAS = /^[vV]\d+$/;

function invalidAlias(message: string, alias: string): FalajError {
  return new FalajError('FALAJ_ALIAS_INVALID', message, { alias });
}

/**
 * An alias name as MLflow accepts it: `^[\w\-]*$`, at most 255 characters, not empty, and
 * neither `latest` (any case) nor `v<N>` (reserved for versions). MLflow's wording.
 */
export function validateAlias(value: unknown): string {
  if (value === undefined || value === null || value === '')
    throw invalidAlias("Missing value for required parameter 'alias'", '');
  if (typeof value !== 'string')
    throw invalidAlias("Invalid value for parameter 'alias': expected a string", String(value));
  if (value.length > ALIAS_MAX)
    throw invalidAlias(
      `Alias name exceeds the maximum length of ${ALIAS_MAX} characters`,
      value.slice(0, 60),
    );
  if (!ALIAS_PATTERN.test(value))
    throw invalidAlias(
      `Invalid alias name: '${value}'. Names may only contain alphanumerics, underscores (_), and dashes (-).`,
      value,
    );
  if (value.toLowerCase() === 'latest')
    throw invalidAlias(`'${value}' alias name (case insensitive) is reserved.`, value);
  if (RESERVED_VERSION_ALIAS.test(value))
    throw invalidAlias(`Version alias name '${value}' is reserved.`, value);
  return value;
}

export function aliasNotFound(alias: string, modelName?: string): FalajError {
  return new FalajError('FALAJ_ALIAS_NOT_FOUND', `Registered model alias ${alias} not found.`, {
    alias,
    ...(modelName !== undefined ? { name: modelName } : {}),
  });
}

/**
 * Points `alias` of the model at `versionId`, moving it if it pointed elsewhere. Raw: no
 * protection check (the caller decides); the version must belong to the model.
 */
export async function setAlias(
  db: Executor,
  modelId: string,
  alias: string,
  versionId: string,
  actor: string,
  now: number,
): Promise<void> {
  await db
    .insertInto('model_aliases')
    .values({ model_id: modelId, alias, version_id: versionId, updated_at: now, updated_by: actor })
    .onConflict((oc) =>
      oc
        .columns(['model_id', 'alias'])
        .doUpdateSet({ version_id: versionId, updated_at: now, updated_by: actor }),
    )
    .execute();
}

/** Removes the alias; false when the model had none of that name. */
export async function deleteAlias(db: Executor, modelId: string, alias: string): Promise<boolean> {
  const r = await db
    .deleteFrom('model_aliases')
    .where('model_id', '=', modelId)
    .where('alias', '=', alias)
    .executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** The alias of the model, if set. */
export async function getAlias(db: Executor, modelId: string, alias: string): Promise<AliasRow | undefined> {
  return (await aliasRows(db, [modelId], alias)).get(modelId)?.[0];
}

/** Every alias of the model, by name. */
export async function aliasesOf(db: Executor, modelId: string): Promise<AliasRow[]> {
  return (await aliasRows(db, [modelId])).get(modelId) ?? [];
}

/** Every alias of many models at once, by model id, each list by alias name. */
export async function aliasesOfModels(
  db: Executor,
  modelIds: readonly string[],
): Promise<Map<string, AliasRow[]>> {
  return aliasRows(db, modelIds);
}

/** The aliases pointing at one version, by name. */
export async function aliasesOfVersion(db: Executor, versionId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('model_aliases')
    .select('alias')
    .where('version_id', '=', versionId)
    .execute();
  return rows.map((r) => r.alias).sort(byBytes);
}

/** The alias names of many versions at once, by version id, each list by name. */
export async function aliasesOfVersions(
  db: Executor,
  versionIds: readonly string[],
): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (versionIds.length === 0) return out;
  const rows = await db
    .selectFrom('model_aliases')
    .select(['version_id', 'alias'])
    .where('version_id', 'in', [...versionIds])
    .execute();
  rows.sort((a, b) => byBytes(a.alias, b.alias));
  for (const r of rows) {
    const list = out.get(r.version_id) ?? [];
    list.push(r.alias);
    out.set(r.version_id, list);
  }
  return out;
}

/** Removes every alias pointing at the version among `aliases` (all of them when omitted). */
export async function deleteAliasesOfVersion(
  db: Executor,
  versionId: string,
  aliases?: readonly string[],
): Promise<string[]> {
  const before = await aliasesOfVersion(db, versionId);
  const gone = aliases ? before.filter((a) => aliases.includes(a)) : before;
  if (gone.length > 0)
    await db
      .deleteFrom('model_aliases')
      .where('version_id', '=', versionId)
      .where('alias', 'in', gone)
      .execute();
  return gone;
}

function byBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function aliasRows(
  db: Executor,
  modelIds: readonly string[],
  alias?: string,
): Promise<Map<string, AliasRow[]>> {
  const out = new Map<string, AliasRow[]>();
  if (modelIds.length === 0) return out;
  let q = db
    .selectFrom('model_aliases as a')
    .innerJoin('model_versions as v', 'v.id', 'a.version_id')
    .select(['a.model_id', 'a.alias', 'a.version_id', 'v.version', 'a.updated_at', 'a.updated_by'])
    .where('a.model_id', 'in', [...modelIds]);
  if (alias !== undefined) q = q.where('a.alias', '=', alias);
  const rows = await q.execute();
  rows.sort((a, b) => byBytes(a.alias, b.alias));
  for (const r of rows) {
    const list = out.get(r.model_id) ?? [];
    list.push({
      alias: r.alias,
      versionId: r.version_id,
      version: Number(r.version),
      updatedAt: Number(r.updated_at),
      updatedBy: r.updated_by,
    });
    out.set(r.model_id, list);
  }
  return out;
}
