// Naming a model version wherever one is named (CLI, SDKs, deployments):
//   models:/NAME@ALIAS    the version the alias points at
//   models:/NAME/N        version N
//   models:/NAME/latest   the highest version
//   models:/NAME/STAGE    the highest version in MLflow's stage (None, Staging, Production, Archived; any case)
//   NAME@ALIAS, NAME@N    the CLI's short forms (N a number; NAME@latest the highest version)
import { FalajError } from '../core/errors.js';
import type { Executor } from '../store/executor.js';
import { aliasNotFound, getAlias } from './alias-store.js';
import { getModel, type RegisteredModelRow } from './model-store.js';
import {
  canonicalStage,
  getVersion,
  getVersionById,
  latestInStage,
  latestVersion,
  type ModelVersionRow,
  type Stage,
  versionNotFound,
} from './version-store.js';

export type ModelRef =
  | { name: string; kind: 'version'; version: number }
  | { name: string; kind: 'alias'; alias: string }
  | { name: string; kind: 'latest' }
  | { name: string; kind: 'stage'; stage: Stage };

function invalidUri(uri: string, why: string): FalajError {
  return new FalajError(
    'FALAJ_MODEL_URI_INVALID',
    `Invalid model URI '${uri.slice(0, 300)}': ${why} (expected models:/NAME@ALIAS, models:/NAME/VERSION, models:/NAME/latest, models:/NAME/STAGE, NAME@ALIAS or NAME@VERSION)`,
    { uri: uri.slice(0, 300) },
  );
}

const NUMBER = /^[1-9]\d{0,14}$/;

/** Parses a model URI (or a short form) without touching the store. */
export function parseModelUri(uri: string): ModelRef {
  if (typeof uri !== 'string' || uri === '') throw invalidUri(String(uri ?? ''), 'empty');
  if (uri.includes('\u0000')) throw invalidUri(uri.replaceAll('\u0000', '\\0'), 'NUL character');
  if (uri.startsWith('models:')) {
    const rest = uri.slice('models:'.length).replace(/^\/+/, '');
    if (rest === '') throw invalidUri(uri, 'no model name');
    const slash = rest.indexOf('/');
    if (slash < 0) {
      const at = rest.lastIndexOf('@');
      if (at <= 0 || at === rest.length - 1) throw invalidUri(uri, 'no version, stage or alias');
      return { name: rest.slice(0, at), kind: 'alias', alias: rest.slice(at + 1) };
    }
    const name = rest.slice(0, slash);
    const suffix = rest.slice(slash + 1).replace(/\/+$/, '');
    if (name === '') throw invalidUri(uri, 'no model name');
    if (suffix === '' || suffix.includes('/'))
      throw invalidUri(uri, 'one version, stage or "latest" after the name');
    if (NUMBER.test(suffix)) return { name, kind: 'version', version: Number(suffix) };
    if (suffix.toLowerCase() === 'latest') return { name, kind: 'latest' };
    const stage = canonicalStage(suffix);
    if (stage) return { name, kind: 'stage', stage };
    throw invalidUri(uri, `'${suffix}' is neither a version number, "latest" nor a stage`);
  }
  const at = uri.lastIndexOf('@');
  if (at <= 0 || at === uri.length - 1) throw invalidUri(uri, 'no @VERSION or @ALIAS after the name');
  const name = uri.slice(0, at);
  const tail = uri.slice(at + 1);
  if (name.includes('/')) throw invalidUri(uri, 'a model name has no "/"');
  if (NUMBER.test(tail)) return { name, kind: 'version', version: Number(tail) };
  if (tail.toLowerCase() === 'latest') return { name, kind: 'latest' };
  return { name, kind: 'alias', alias: tail };
}

/** The model and version a URI names in the project; FALAJ_MODEL_NOT_FOUND, *_VERSION_NOT_FOUND, ALIAS_NOT_FOUND. */
export async function resolveModelRef(
  db: Executor,
  projectId: string,
  ref: ModelRef,
): Promise<{ model: RegisteredModelRow; version: ModelVersionRow }> {
  const model = await getModel(db, projectId, ref.name);
  switch (ref.kind) {
    case 'version':
      return { model, version: await getVersion(db, model, ref.version) };
    case 'latest': {
      const v = await latestVersion(db, model.id);
      if (!v) throw versionNotFound(model.name, 'latest');
      return { model, version: v };
    }
    case 'stage': {
      const v = await latestInStage(db, model.id, ref.stage);
      if (!v) throw versionNotFound(model.name, ref.stage);
      return { model, version: v };
    }
    case 'alias': {
      const a = await getAlias(db, model.id, ref.alias);
      const v = a ? await getVersionById(db, a.versionId) : undefined;
      if (!v) throw aliasNotFound(ref.alias, model.name);
      return { model, version: v };
    }
  }
}

/** `resolveModelRef` of a URI string, model and version. */
export async function resolveModel(
  db: Executor,
  projectId: string,
  uri: string,
): Promise<{ model: RegisteredModelRow; version: ModelVersionRow }> {
  return resolveModelRef(db, projectId, parseModelUri(uri));
}

/** The version row a model URI names in the project (or a FalajError with a stable code). */
export async function resolveModelUri(
  db: Executor,
  projectId: string,
  uri: string,
): Promise<ModelVersionRow> {
  return (await resolveModel(db, projectId, uri)).version;
}
