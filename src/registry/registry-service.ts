// The registry's changes that both APIs make (MLflow's and Falaj's v1), each inside the
// caller's transaction: registering a version (with its lineage edge and event), setting and
// removing aliases under the protection rule, and MLflow's stage transitions mapped onto
// aliases.
import { FalajError } from '../core/errors.js';
import type { Services } from '../http/services.js';
import { recordEdge } from '../lineage/lineage-store.js';
import type { Executor } from '../store/executor.js';
import {
  aliasesOfVersion,
  deleteAlias,
  deleteAliasesOfVersion,
  getAlias,
  setAlias,
  validateAlias,
} from './alias-store.js';
import type { RegistryEvents } from './events.js';
import { isProtectedAlias, type KeyValue, type RegisteredModelRow, touchModel } from './model-store.js';
import type { ResolvedSource } from './source.js';
import {
  createVersion,
  type ModelVersionRow,
  type Stage,
  setVersionStage,
  versionsInStage,
} from './version-store.js';

/** What the registry's route files share. */
export interface RegistryContext {
  svc: Services;
  events: RegistryEvents;
}

/** FALAJ_ALIAS_PROTECTED, naming the command that moves the alias the allowed way. */
export function aliasProtected(
  model: { name: string },
  alias: string,
  version?: number | string,
): FalajError {
  const target = `${model.name}@${version ?? 'VERSION'}`;
  return new FalajError(
    'FALAJ_ALIAS_PROTECTED',
    `Alias '${alias}' of registered model '${model.name}' is protected: it changes only through a promotion request, its gates and a second person's approval. Run: falaj models promote ${target} --alias ${alias}`,
    { name: model.name, alias, command: `falaj models promote ${target} --alias ${alias}` },
  );
}

export interface RegisterInput {
  project: { id: string; name: string };
  model: RegisteredModelRow;
  resolved: ResolvedSource;
  description?: string;
  tags?: readonly KeyValue[];
  runLink?: string;
  /** The registering user's name (MLflow's user_id). */
  userId: string;
  now: number;
}

/**
 * Registers a version (READY at once), records the lineage edge run → model_version
 * ('registered', attrs {source}) when it comes from a run, and emits model_version.created.
 */
export async function registerVersion(
  ctx: RegistryContext,
  tx: Executor,
  input: RegisterInput,
): Promise<ModelVersionRow> {
  const { resolved } = input;
  const v = await createVersion(tx, {
    modelId: input.model.id,
    source: resolved.source,
    runId: resolved.runId,
    runLink: input.runLink ?? '',
    description: input.description ?? '',
    userId: input.userId,
    artifactPath: resolved.artifactPath,
    format: resolved.format,
    signature: resolved.signature,
    tags: input.tags ?? [],
    now: input.now,
  });
  if (resolved.runId) {
    await recordEdge(
      tx,
      input.project.id,
      {
        from: { kind: 'run', id: resolved.runId },
        to: { kind: 'model_version', id: v.id },
        relation: 'registered',
        attrs: { source: resolved.source },
      },
      input.now,
    );
  }
  await ctx.events.emit(tx, {
    event: 'model_version.created',
    projectId: input.project.id,
    at: input.now,
    payload: {
      name: input.model.name,
      version: String(v.version),
      source: v.source,
      run_id: v.run_id,
      format: v.format,
      user_id: v.user_id,
    },
  });
  return v;
}

/**
 * Points a non-protected alias at a version (FALAJ_ALIAS_PROTECTED for a protected one: those
 * move through the promotion flow, which calls setAlias itself) and emits alias.changed.
 */
export async function setUnprotectedAlias(
  ctx: RegistryContext,
  tx: Executor,
  p: {
    projectId: string;
    model: RegisteredModelRow;
    alias: string;
    version: ModelVersionRow;
    actor: string;
    now: number;
  },
): Promise<{ previous: number | null }> {
  const alias = validateAlias(p.alias);
  if (isProtectedAlias(p.model, alias)) throw aliasProtected(p.model, alias, p.version.version);
  const before = await getAlias(tx, p.model.id, alias);
  await setAlias(tx, p.model.id, alias, p.version.id, p.actor, p.now);
  await touchModel(tx, p.model.id, p.now);
  await emitAliasChanged(
    ctx,
    tx,
    p.projectId,
    p.model,
    alias,
    before?.version ?? null,
    p.version.version,
    p.actor,
    p.now,
  );
  return { previous: before?.version ?? null };
}

/** Emits alias.changed (from null: newly set; to null: removed). */
export async function emitAliasChanged(
  ctx: RegistryContext,
  tx: Executor,
  projectId: string,
  model: { name: string },
  alias: string,
  from: number | null,
  to: number | null,
  actor: string,
  now: number,
): Promise<void> {
  await ctx.events.emit(tx, {
    event: 'alias.changed',
    projectId,
    at: now,
    payload: {
      name: model.name,
      alias,
      from_version: from === null ? null : String(from),
      to_version: to === null ? null : String(to),
      actor,
    },
  });
}

/**
 * Removes an alias. A protected one is refused unless `allowProtected` (a project admin on the
 * v1 API); a missing one is FALAJ_ALIAS_NOT_FOUND when `mustExist`.
 */
export async function removeAlias(
  ctx: RegistryContext,
  tx: Executor,
  p: {
    projectId: string;
    model: RegisteredModelRow;
    alias: string;
    actor: string;
    now: number;
    allowProtected?: boolean;
  },
): Promise<{ removed: number | null }> {
  const alias = validateAlias(p.alias);
  if (isProtectedAlias(p.model, alias) && !p.allowProtected) throw aliasProtected(p.model, alias);
  const before = await getAlias(tx, p.model.id, alias);
  if (!before) return { removed: null };
  await deleteAlias(tx, p.model.id, alias);
  await touchModel(tx, p.model.id, p.now);
  await emitAliasChanged(ctx, tx, p.projectId, p.model, alias, before.version, null, p.actor, p.now);
  return { removed: before.version };
}

/** The aliases MLflow's stages map onto. */
export const STAGE_ALIASES: Readonly<Record<'Staging' | 'Production', string>> = {
  Staging: 'staging',
  Production: 'production',
};

/**
 * MLflow's deprecated transition-stage, mapped onto aliases: Staging moves alias `staging` to
 * the version, Production moves `production` (protected by default, so refused), Archived and
 * None remove the version's stage aliases (refused when one of them is protected). The stage
 * column is set as MLflow sets it; with `archiveExisting`, the other versions in the target
 * stage become Archived (their stage column only: the alias has moved anyway).
 */
export async function transitionStage(
  ctx: RegistryContext,
  tx: Executor,
  p: {
    projectId: string;
    model: RegisteredModelRow;
    version: ModelVersionRow;
    stage: Stage;
    archiveExisting: boolean;
    actor: string;
    now: number;
  },
): Promise<void> {
  const { model, version, stage } = p;
  if (stage === 'Staging' || stage === 'Production') {
    const alias = STAGE_ALIASES[stage];
    if (isProtectedAlias(model, alias)) throw aliasProtected(model, alias, version.version);
    const before = await getAlias(tx, model.id, alias);
    await setAlias(tx, model.id, alias, version.id, p.actor, p.now);
    if (before?.version !== version.version)
      await emitAliasChanged(
        ctx,
        tx,
        p.projectId,
        model,
        alias,
        before?.version ?? null,
        version.version,
        p.actor,
        p.now,
      );
    if (p.archiveExisting) {
      const others = (await versionsInStage(tx, model.id, stage)).filter((o) => o.id !== version.id);
      for (const o of others) await setVersionStage(tx, o.id, 'Archived', p.now);
    }
  } else {
    const held = await aliasesOfVersion(tx, version.id);
    const stageAliases = Object.values(STAGE_ALIASES).filter((a) => held.includes(a));
    for (const a of stageAliases) if (isProtectedAlias(model, a)) throw aliasProtected(model, a);
    const gone = await deleteAliasesOfVersion(tx, version.id, stageAliases);
    for (const a of gone)
      await emitAliasChanged(ctx, tx, p.projectId, model, a, version.version, null, p.actor, p.now);
  }
  await setVersionStage(tx, version.id, stage, p.now);
  await touchModel(tx, model.id, p.now);
}

/** Refuses to delete a version that a protected alias points at (it would leave production empty). */
export async function checkVersionDeletable(
  tx: Executor,
  model: RegisteredModelRow,
  version: ModelVersionRow,
): Promise<void> {
  const held = await aliasesOfVersion(tx, version.id);
  const guarded = held.find((a) => isProtectedAlias(model, a));
  if (guarded)
    throw new FalajError(
      'FALAJ_ALIAS_PROTECTED',
      `Model Version (name=${model.name}, version=${version.version}) holds the protected alias '${guarded}': promote another version first (falaj models promote ${model.name}@VERSION --alias ${guarded})`,
      { name: model.name, version: String(version.version), alias: guarded },
    );
}
