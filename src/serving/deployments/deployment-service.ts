// Deployment changes: each one checks the models it names, writes a new revision (the whole
// spec), moves the deployment to it, records the model versions it serves in the lineage graph
// and audits, in one transaction. A rollback is a new revision copying an older one, so the
// history only grows and a rollback can itself be rolled back.
import type { FastifyRequest } from 'fastify';
import { FalajError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { type AuditFacts, audited } from '../../http/audited.js';
import type { ProjectAccess } from '../../http/identity.js';
import type { Services } from '../../http/services.js';
import { recordEdge } from '../../lineage/lineage-store.js';
import { resolveModel } from '../../registry/model-uri.js';
import type { ModelVersionRow } from '../../registry/version-store.js';
import type { Executor } from '../../store/executor.js';
import { applyChange, type DeploymentSpec, type SpecChange, specModels } from './deployment-spec.js';
import {
  advanceRevision,
  type DeploymentRow,
  deleteDeploymentRows,
  findDeployment,
  getDeployment,
  getRevision,
  insertDeployment,
  insertRevision,
  type RevisionReason,
  setPublicFlag,
} from './deployment-store.js';

export const DEPLOYMENT_NAME_PATTERN = '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$';
const NAME = new RegExp(DEPLOYMENT_NAME_PATTERN);

export function checkDeploymentName(name: string): string {
  if (!NAME.test(name))
    throw new FalajError(
      'FALAJ_DEPLOYMENT_INVALID',
      `deployment name '${name.slice(0, 100)}': lower-case letters, digits and '-', 1 to 63 characters, starting and ending with a letter or digit (it is part of URLs and Kubernetes names)`,
      { field: 'name' },
    );
  return name;
}

export interface ServedVersion {
  variant: 'primary' | 'canary' | 'shadow';
  ref: string;
  model: string;
  version: number;
  versionId: string;
  format: 'falaj' | 'onnx';
}

/** A version a deployment can load: READY, with files Falaj holds, Falaj's format or ONNX. */
export function checkServable(ref: string, v: ModelVersionRow): 'falaj' | 'onnx' {
  if (v.status !== 'READY')
    throw new FalajError(
      'FALAJ_DEPLOYMENT_MODEL_UNSERVABLE',
      `${ref} is version ${v.version}, which is ${v.status}, not READY`,
      { model: ref, version: v.version },
    );
  if (v.format !== 'falaj' && v.format !== 'onnx')
    throw new FalajError(
      'FALAJ_DEPLOYMENT_MODEL_UNSERVABLE',
      `${ref} is version ${v.version}, whose files are not held by Falaj (format '${v.format}'): register a Falaj model or an ONNX graph`,
      { model: ref, version: v.version },
    );
  return v.format;
}

/** The versions a spec names, now (an alias resolves to where it points today). */
export async function resolveSpec(
  db: Executor,
  projectId: string,
  spec: DeploymentSpec,
): Promise<ServedVersion[]> {
  const out: ServedVersion[] = [];
  for (const { variant, ref } of specModels(spec)) {
    const { model, version } = await resolveModel(db, projectId, ref);
    const format = checkServable(ref, version);
    out.push({ variant, ref, model: model.name, version: version.version, versionId: version.id, format });
  }
  return out;
}

/** Links each served version to the deployment in the lineage graph (recorded once per pair). */
export async function recordServed(
  db: Executor,
  projectId: string,
  deploymentId: string,
  served: readonly ServedVersion[],
  now: number,
): Promise<void> {
  for (const s of served)
    await recordEdge(
      db,
      projectId,
      {
        from: { kind: 'model_version', id: s.versionId },
        to: { kind: 'deployment', id: deploymentId },
        relation: 'deployed',
        attrs: { variant: s.variant, ref: s.ref },
      },
      now,
    );
}

function summary(spec: DeploymentSpec, served: readonly ServedVersion[]): Record<string, unknown> {
  return {
    model: spec.model,
    canary: spec.canary,
    shadow: spec.shadow?.model ?? null,
    placement: spec.placement,
    versions: served.map((s) => `${s.variant}=${s.model}@${s.version}`),
  };
}

export async function createDeployment(
  svc: Services,
  req: FastifyRequest,
  project: ProjectAccess,
  input: { name: string; description?: string; change: SpecChange },
): Promise<DeploymentRow> {
  const name = checkDeploymentName(input.name);
  const spec = applyChange(undefined, input.change);
  return audited(
    svc,
    req,
    async (tx) => {
      if (await findDeployment(tx, project.id, name))
        throw new FalajError(
          'FALAJ_DEPLOYMENT_EXISTS',
          `deployment '${name}' already exists in project '${project.name}'`,
          { deployment: name },
        );
      const served = await resolveSpec(tx, project.id, spec);
      const now = svc.clock.now();
      const row: DeploymentRow = {
        id: newId(),
        project_id: project.id,
        name,
        description: input.description ?? '',
        revision: 1,
        public: 0,
        state: 'loading',
        state_reason: 'revision 1 is loading',
        serving: null,
        created_at: now,
        created_by: req.identity?.username ?? 'anonymous',
        updated_at: now,
      };
      await insertDeployment(tx, row);
      await insertRevision(tx, {
        deploymentId: row.id,
        revision: 1,
        spec,
        reason: 'create',
        details: null,
        createdAt: now,
        createdBy: row.created_by,
      });
      await recordServed(tx, project.id, row.id, served, now);
      return {
        result: row,
        audit: {
          action: 'deployment.create',
          objectType: 'deployment',
          objectId: row.id,
          projectId: project.id,
          details: { name, revision: 1, ...summary(spec, served) },
        },
      };
    },
    201,
  );
}

/**
 * Writes revision `current + 1` holding `spec` and moves the deployment to it, in `tx`. False
 * when the deployment moved meanwhile (the caller's view was stale).
 */
export async function writeRevision(
  tx: Executor,
  d: DeploymentRow,
  spec: DeploymentSpec,
  reason: RevisionReason,
  details: Record<string, unknown> | null,
  actor: string,
  now: number,
): Promise<{ revision: number; served: ServedVersion[] } | undefined> {
  const served = await resolveSpec(tx, d.project_id, spec);
  const revision = d.revision + 1;
  if (!(await advanceRevision(tx, d.id, d.revision, revision, now))) return undefined;
  await insertRevision(tx, {
    deploymentId: d.id,
    revision,
    spec,
    reason,
    details,
    createdAt: now,
    createdBy: actor,
  });
  await recordServed(tx, d.project_id, d.id, served, now);
  return { revision, served };
}

async function changeDeployment(
  svc: Services,
  req: FastifyRequest,
  project: ProjectAccess,
  name: string,
  make: (
    tx: Executor,
    d: DeploymentRow,
    current: DeploymentSpec,
  ) => Promise<{
    spec: DeploymentSpec;
    reason: RevisionReason;
    details: Record<string, unknown> | null;
    audit: Omit<AuditFacts, 'objectType' | 'objectId' | 'projectId'>;
  }>,
): Promise<DeploymentRow> {
  return audited(svc, req, async (tx) => {
    const d = await getDeployment(tx, project, name);
    const current = await getRevision(tx, d.id, d.revision);
    if (!current)
      throw new FalajError('FALAJ_INTERNAL', `deployment '${name}' has no revision ${d.revision}`);
    const { spec, reason, details, audit } = await make(tx, d, current.spec);
    const now = svc.clock.now();
    const written = await writeRevision(
      tx,
      d,
      spec,
      reason,
      details,
      req.identity?.username ?? 'anonymous',
      now,
    );
    if (!written)
      throw new FalajError(
        'FALAJ_CONFLICT',
        `deployment '${name}' changed meanwhile: read it again and retry`,
      );
    const after = await getDeployment(tx, project, name);
    return {
      result: after,
      audit: {
        ...audit,
        objectType: 'deployment',
        objectId: d.id,
        projectId: project.id,
        details: { name, revision: written.revision, ...summary(spec, written.served), ...audit.details },
      },
    };
  });
}

export async function updateDeployment(
  svc: Services,
  req: FastifyRequest,
  project: ProjectAccess,
  name: string,
  change: SpecChange,
): Promise<DeploymentRow> {
  return changeDeployment(svc, req, project, name, async (_tx, _d, current) => ({
    spec: applyChange(current, change),
    reason: change.promoteCanary ? 'promote-canary' : 'update',
    details: null,
    audit: { action: change.promoteCanary ? 'deployment.promote_canary' : 'deployment.update' },
  }));
}

/** Restores revision `to` (default: the one before the current) as a new revision. */
export async function rollbackDeployment(
  svc: Services,
  req: FastifyRequest,
  project: ProjectAccess,
  name: string,
  to?: number,
): Promise<DeploymentRow> {
  return changeDeployment(svc, req, project, name, async (tx, d) => {
    const target = to ?? d.revision - 1;
    if (target < 1 || target >= d.revision)
      throw new FalajError(
        'FALAJ_DEPLOYMENT_INVALID',
        to === undefined
          ? `deployment '${name}' is at its first revision: there is nothing to roll back to`
          : `revision ${target}: roll back to an earlier revision than the current ${d.revision}`,
        { field: 'revision' },
      );
    const old = await getRevision(tx, d.id, target);
    if (!old)
      throw new FalajError('FALAJ_DEPLOYMENT_NOT_FOUND', `deployment '${name}' has no revision ${target}`, {
        revision: target,
      });
    return {
      spec: old.spec,
      reason: 'rollback',
      details: { from: d.revision, to: target },
      audit: { action: 'deployment.rollback', details: { from: d.revision, to: target } },
    };
  });
}

export async function deleteDeployment(
  svc: Services,
  req: FastifyRequest,
  project: ProjectAccess,
  name: string,
): Promise<void> {
  await audited(svc, req, async (tx) => {
    const d = await getDeployment(tx, project, name);
    await deleteDeploymentRows(tx, d.id);
    return {
      result: undefined,
      audit: {
        action: 'deployment.delete',
        objectType: 'deployment',
        objectId: d.id,
        projectId: project.id,
        details: { name, revision: d.revision },
      },
    };
  });
}

/** Makes a deployment callable without a token, or not (project admins only, audited). */
export async function setDeploymentPublic(
  svc: Services,
  req: FastifyRequest,
  project: ProjectAccess,
  name: string,
  isPublic: boolean,
): Promise<DeploymentRow> {
  return audited(svc, req, async (tx) => {
    const d = await getDeployment(tx, project, name);
    await setPublicFlag(tx, d.id, isPublic, svc.clock.now());
    return {
      result: await getDeployment(tx, project, name),
      audit: {
        action: isPublic ? 'deployment.make_public' : 'deployment.make_private',
        objectType: 'deployment',
        objectId: d.id,
        projectId: project.id,
        details: { name, public: isPublic },
      },
    };
  });
}

/**
 * The automatic rollback of a failing canary: a new revision without the canary, audited as
 * the system with the numbers that caused it. Undefined when the deployment moved meanwhile
 * (another server rolled it back first, or a person changed it).
 */
export async function autoRollbackCanary(
  svc: Services,
  deploymentId: string,
  fromRevision: number,
  numbers: Record<string, unknown>,
  /** Who judged it: this server (`system:serving`), or the identity of a replica that did. */
  actor = 'system:serving',
): Promise<number | undefined> {
  return svc.store.db.transaction().execute(async (tx) => {
    const d = await tx
      .selectFrom('deployments')
      .selectAll()
      .where('id', '=', deploymentId)
      .executeTakeFirst();
    if (!d || d.revision !== fromRevision) return undefined;
    const current = await getRevision(tx, d.id, d.revision);
    if (!current?.spec.canary) return undefined;
    const spec: DeploymentSpec = { ...current.spec, canary: null };
    const now = svc.clock.now();
    const details = { canary: current.spec.canary, ...numbers };
    const written = await writeRevision(tx, d, spec, 'auto-rollback', details, actor, now);
    if (!written) return undefined;
    await svc.audit.append(tx, {
      actor,
      action: 'deployment.auto_rollback',
      objectType: 'deployment',
      objectId: d.id,
      projectId: d.project_id,
      sourceIp: '',
      outcome: 'success',
      status: 200,
      requestId: `auto-rollback-${d.id}-${fromRevision}`,
      details: { name: d.name, from: fromRevision, revision: written.revision, ...details },
    });
    return written.revision;
  });
}
