// Falaj's own JSON of registered models and versions (/api/v1/projects/:p/models/...): plain
// numbers and objects, every field present, the signature parsed.
import type { Executor } from '../store/executor.js';
import { aliasesOfModels, aliasesOfVersions } from './alias-store.js';
import { modelNames, modelTags, protectedAliasesOf, type RegisteredModelRow } from './model-store.js';
import {
  listVersions,
  type ModelVersionRow,
  type Signature,
  signatureOf,
  versionTags,
} from './version-store.js';

export interface VersionView {
  name: string;
  version: number;
  uri: string;
  status: string;
  stage: string;
  source: string;
  run_id: string | null;
  artifact_path: string;
  format: string;
  signature: Signature | null;
  description: string;
  user_id: string;
  created_at: number;
  updated_at: number;
  tags: Record<string, string>;
  aliases: string[];
}

export interface ModelView {
  name: string;
  description: string;
  user_id: string;
  created_at: number;
  updated_at: number;
  protected_aliases: string[];
  tags: Record<string, string>;
  /** alias → version number */
  aliases: Record<string, number>;
  latest_version: number | null;
}

export async function versionViews(db: Executor, rows: readonly ModelVersionRow[]): Promise<VersionView[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const names = await modelNames(
    db,
    rows.map((r) => r.model_id),
  );
  const tags = await versionTags(db, ids);
  const aliases = await aliasesOfVersions(db, ids);
  return rows.map((v) => {
    const name = names.get(v.model_id) ?? '';
    return {
      name,
      version: v.version,
      uri: `models:/${name}/${v.version}`,
      status: v.status,
      stage: v.stage,
      source: v.source,
      run_id: v.run_id,
      artifact_path: v.artifact_path,
      format: v.format,
      signature: signatureOf(v),
      description: v.description,
      user_id: v.user_id,
      created_at: v.created_at,
      updated_at: v.updated_at,
      tags: Object.fromEntries((tags.get(v.id) ?? []).map((t) => [t.key, t.value])),
      aliases: aliases.get(v.id) ?? [],
    };
  });
}

export async function versionView(db: Executor, row: ModelVersionRow): Promise<VersionView> {
  return (await versionViews(db, [row]))[0]!;
}

export async function modelViews(db: Executor, models: readonly RegisteredModelRow[]): Promise<ModelView[]> {
  if (models.length === 0) return [];
  const ids = models.map((m) => m.id);
  const tags = await modelTags(db, ids);
  const aliases = await aliasesOfModels(db, ids);
  const latest = new Map<string, number>();
  if (ids.length > 0) {
    const rows = await db
      .selectFrom('model_versions')
      .select(['model_id', (eb) => eb.fn.max('version').as('max')])
      .where('model_id', 'in', ids)
      .groupBy('model_id')
      .execute();
    for (const r of rows) latest.set(r.model_id, Number(r.max));
  }
  return models.map((m) => ({
    name: m.name,
    description: m.description,
    user_id: m.user_id,
    created_at: m.created_at,
    updated_at: m.updated_at,
    protected_aliases: protectedAliasesOf(m),
    tags: Object.fromEntries((tags.get(m.id) ?? []).map((t) => [t.key, t.value])),
    aliases: Object.fromEntries((aliases.get(m.id) ?? []).map((a) => [a.alias, a.version])),
    latest_version: latest.get(m.id) ?? null,
  }));
}

/** A model with all its versions, newest first. */
export async function modelDetail(
  db: Executor,
  model: RegisteredModelRow,
): Promise<ModelView & { versions: VersionView[] }> {
  const [view] = await modelViews(db, [model]);
  return { ...view!, versions: await versionViews(db, await listVersions(db, model.id)) };
}
