// MLflow's RegisteredModel and ModelVersion messages as JSON (protobuf's JSON mapping, as
// tracking's wire.ts: unset fields and empty lists left out, int64 times as numbers, the version
// number as a string). Built in batches: one query per table for a whole page.
import type { Executor } from '../store/executor.js';
import { aliasesOfModels, aliasesOfVersions } from './alias-store.js';
import { type KeyValue, modelNames, modelTags, type RegisteredModelRow } from './model-store.js';
import { latestVersionsPerStage, type ModelVersionRow, versionTags } from './version-store.js';

export interface WireModelVersion {
  name: string;
  version: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  user_id?: string;
  current_stage: string;
  description?: string;
  source: string;
  run_id?: string;
  status: string;
  status_message?: string;
  tags?: KeyValue[];
  run_link?: string;
  aliases?: string[];
}

export interface WireRegisteredModel {
  name: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  user_id?: string;
  description?: string;
  latest_versions?: WireModelVersion[];
  tags?: KeyValue[];
  aliases?: { alias: string; version: string }[];
}

const SLICE = 5000;

async function sliced<T>(
  ids: readonly string[],
  load: (slice: string[]) => Promise<Map<string, T>>,
): Promise<Map<string, T>> {
  const out = new Map<string, T>();
  for (let i = 0; i < ids.length; i += SLICE)
    for (const [k, v] of await load(ids.slice(i, i + SLICE))) out.set(k, v);
  return out;
}

function oneVersion(
  v: ModelVersionRow,
  name: string,
  tags: KeyValue[] | undefined,
  aliases: string[] | undefined,
): WireModelVersion {
  return {
    name,
    version: String(v.version),
    creation_timestamp: v.created_at,
    last_updated_timestamp: v.updated_at,
    ...(v.user_id ? { user_id: v.user_id } : {}),
    current_stage: v.stage,
    ...(v.description ? { description: v.description } : {}),
    source: v.source,
    ...(v.run_id ? { run_id: v.run_id } : {}),
    status: v.status,
    ...(v.status_message ? { status_message: v.status_message } : {}),
    ...(tags && tags.length > 0 ? { tags } : {}),
    ...(v.run_link ? { run_link: v.run_link } : {}),
    ...(aliases && aliases.length > 0 ? { aliases } : {}),
  };
}

/** ModelVersion messages of the rows, in their order. */
export async function wireVersions(
  db: Executor,
  rows: readonly ModelVersionRow[],
): Promise<WireModelVersion[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const names = await modelNames(
    db,
    rows.map((r) => r.model_id),
  );
  const tags = await sliced(ids, (s) => versionTags(db, s));
  const aliases = await sliced(ids, (s) => aliasesOfVersions(db, s));
  return rows.map((v) => oneVersion(v, names.get(v.model_id) ?? '', tags.get(v.id), aliases.get(v.id)));
}

export async function wireVersion(db: Executor, row: ModelVersionRow): Promise<WireModelVersion> {
  return (await wireVersions(db, [row]))[0]!;
}

/** RegisteredModel messages of the rows, in their order, with tags, aliases and latest versions per stage. */
export async function wireModels(
  db: Executor,
  models: readonly RegisteredModelRow[],
): Promise<WireRegisteredModel[]> {
  if (models.length === 0) return [];
  const ids = models.map((m) => m.id);
  const tags = await modelTags(db, ids);
  const aliases = await aliasesOfModels(db, ids);
  const latest = await latestVersionsPerStage(db, ids);
  const latestRows = [...latest.values()].flat();
  const wiredLatest = await wireVersions(db, latestRows);
  const byVersionId = new Map(latestRows.map((r, i) => [r.id, wiredLatest[i]!]));
  return models.map((m) => {
    const lv = (latest.get(m.id) ?? []).map((r) => byVersionId.get(r.id)!);
    const t = tags.get(m.id) ?? [];
    const a = (aliases.get(m.id) ?? []).map((x) => ({ alias: x.alias, version: String(x.version) }));
    return {
      name: m.name,
      creation_timestamp: m.created_at,
      last_updated_timestamp: m.updated_at,
      ...(m.user_id ? { user_id: m.user_id } : {}),
      ...(m.description ? { description: m.description } : {}),
      ...(lv.length > 0 ? { latest_versions: lv } : {}),
      ...(t.length > 0 ? { tags: t } : {}),
      ...(a.length > 0 ? { aliases: a } : {}),
    };
  });
}

export async function wireModel(db: Executor, model: RegisteredModelRow): Promise<WireRegisteredModel> {
  return (await wireModels(db, [model]))[0]!;
}
