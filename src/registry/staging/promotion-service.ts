// Four-eyes promotion to a protected alias. An editor requests (the gates run and are stored
// with the request); a maintainer who is not the requester approves, and the gates run again;
// only when they pass — or when a project admin, not the requester either, overrides them with
// a written reason, which is itself the second approval — does the alias move, in the same
// transaction as the decision. Rejection needs a reason. Every step is an audit event and a
// webhook event; a refused step changes nothing (a failed gate run at approval is recorded,
// with the refusal, as evidence).
import type { FastifyRequest } from 'fastify';
import { FalajError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { auditAttempt, audited } from '../../http/audited.js';
import { actorOf, type ProjectAccess } from '../../http/identity.js';
import type { Services } from '../../http/services.js';
import { getAlias, setAlias, validateAlias } from '../alias-store.js';
import {
  getModelById,
  isProtectedAlias,
  protectedAliasesOf,
  type RegisteredModelRow,
  touchModel,
} from '../model-store.js';
import { emitAliasChanged, type RegistryContext } from '../registry-service.js';
import { getVersionById, type ModelVersionRow, versionNotFound } from '../version-store.js';
import { judge, recordGateRun } from './gate-service.js';
import { gateRunView } from './gate-store.js';
import {
  decidePromotion,
  getPromotion,
  insertPromotion,
  type PromotionRow,
  pendingFor,
  promotionView,
} from './promotion-store.js';

function objectId(project: ProjectAccess, model: string, version: number): string {
  return `${project.name}/${model}@${version}`;
}

export async function requestPromotion(
  ctx: RegistryContext,
  req: FastifyRequest,
  project: ProjectAccess,
  model: RegisteredModelRow,
  version: ModelVersionRow,
  aliasInput: string,
  note = '',
) {
  const { svc } = ctx;
  const alias = validateAlias(aliasInput);
  if (!isProtectedAlias(model, alias))
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      `alias '${alias}' is not protected on '${model.name}' (protected: ${protectedAliasesOf(model).join(', ') || 'none'}): set it directly with \`falaj models alias\``,
      { alias, protected: protectedAliasesOf(model) },
    );
  const db = svc.store.db;
  const holder = await getAlias(db, model.id, alias);
  if (holder?.versionId === version.id)
    throw new FalajError('FALAJ_CONFLICT', `version ${version.version} already holds '${alias}'`, { alias });
  const pending = await pendingFor(db, version.id, alias);
  if (pending)
    throw new FalajError(
      'FALAJ_CONFLICT',
      `a request to promote version ${version.version} to '${alias}' is already pending: ${pending.id}`,
      { request: pending.id },
    );
  const outcome = await judge(db, project.id, model, version, alias);
  const me = req.identity!.username;
  return audited(
    svc,
    req,
    async (tx) => {
      // The version may have been deleted since it was resolved.
      if (!(await getVersionById(tx, version.id))) throw versionNotFound(model.name, version.version);
      const now = svc.clock.now();
      const run = await recordGateRun(tx, version.id, outcome, { now, by: me });
      const row = {
        id: newId(),
        model_id: model.id,
        version_id: version.id,
        alias,
        state: 'pending',
        requested_by: me,
        requested_at: now,
        note,
        gate_run_id: run.id,
        decided_by: null,
        decided_at: null,
        decision_reason: null,
        override_by: null,
        override_reason: null,
      };
      await insertPromotion(tx, row);
      const request = promotionView({
        ...row,
        model_name: model.name,
        project_id: project.id,
        version: version.version,
      });
      await ctx.events.emit(tx, {
        event: 'promotion.requested',
        projectId: project.id,
        payload: { request, gates: { passed: outcome.passed, gateRunId: run.id } },
        at: now,
      });
      return {
        result: { request, gates: gateRunView(run) },
        audit: {
          action: 'model.promotion.request',
          objectType: 'model_version',
          objectId: objectId(project, model.name, version.version),
          projectId: project.id,
          details: {
            request: row.id,
            alias,
            gatesPassed: outcome.passed,
            gateRun: run.id,
            failed: outcome.checks.filter((c) => !c.passed).map((c) => c.name),
          },
        },
      };
    },
    201,
  );
}

/** The request and what it names, re-read; refuses one that is decided or whose version is gone. */
async function pendingRequest(svc: Services, project: ProjectAccess, id: string) {
  const db = svc.store.db;
  const p = await getPromotion(db, project.id, id);
  if (p.state !== 'pending')
    throw new FalajError('FALAJ_PROMOTION_NOT_PENDING', `promotion request ${id} is already ${p.state}`, {
      request: id,
      state: p.state,
      decidedBy: p.decided_by,
    });
  const model = await getModelById(db, p.model_id);
  const version = await getVersionById(db, p.version_id);
  if (!model || !version) throw versionNotFound(p.model_name, p.version);
  return { p, model, version };
}

function notPending(p: PromotionRow): FalajError {
  return new FalajError(
    'FALAJ_PROMOTION_NOT_PENDING',
    `promotion request ${p.id} was decided by someone else at the same time`,
    { request: p.id },
  );
}

export async function approvePromotion(
  ctx: RegistryContext,
  req: FastifyRequest,
  project: ProjectAccess,
  id: string,
  overrideReason?: string,
) {
  const { svc } = ctx;
  const { p, model, version } = await pendingRequest(svc, project, id);
  const me = req.identity!.username;
  const override = overrideReason !== undefined;
  if (p.requested_by === me)
    throw new FalajError(
      'FALAJ_SELF_APPROVAL',
      `you requested this promotion: another ${override ? 'project admin' : 'maintainer'} must ${override ? 'override' : 'approve'} it`,
      { request: id, requestedBy: p.requested_by },
    );
  if (override) {
    if (project.role !== 'admin' && !req.identity!.isOwner)
      throw new FalajError('FALAJ_FORBIDDEN', 'only a project admin may override failed gates', {
        request: id,
      });
    if (overrideReason.trim().length === 0)
      throw new FalajError('FALAJ_INVALID_ARGUMENT', 'an override needs a written reason', {
        field: 'overrideReason',
      });
  }
  const outcome = await judge(svc.store.db, project.id, model, version, p.alias);
  const failed = outcome.checks.filter((c) => !c.passed).map((c) => c.name);
  const target = objectId(project, model.name, version.version);
  if (!outcome.passed && !override) {
    // Nothing moves; the failing run and the refusal are kept as evidence.
    const runId = await svc.store.db.transaction().execute(async (tx) => {
      const run = await recordGateRun(tx, version.id, outcome, { now: svc.clock.now(), by: me });
      await auditAttempt(
        svc,
        req,
        {
          action: 'model.promotion.approve',
          objectType: 'model_version',
          objectId: target,
          projectId: project.id,
          details: { request: id, alias: p.alias, gatesPassed: false, gateRun: run.id, failed },
        },
        409,
        tx,
      );
      return run.id;
    });
    throw new FalajError(
      'FALAJ_GATES_FAILED',
      `version ${version.version} of '${model.name}' fails its gates (${failed.join('; ')}): it cannot be approved; a project admin may override with a written reason`,
      { request: id, gateRunId: runId, failed },
    );
  }
  return audited(svc, req, async (tx) => {
    const now = svc.clock.now();
    const run = await recordGateRun(tx, version.id, outcome, { now, by: me });
    const overridden = override && !outcome.passed;
    const decided = await decidePromotion(tx, id, {
      state: 'approved',
      by: me,
      at: now,
      reason: override && outcome.passed ? overrideReason : null,
      gateRunId: run.id,
      ...(overridden ? { override: { by: me, reason: overrideReason as string } } : {}),
    });
    if (!decided) throw notPending(p);
    if (!(await getVersionById(tx, version.id))) throw versionNotFound(model.name, version.version);
    const previous = await getAlias(tx, model.id, p.alias);
    await setAlias(tx, model.id, p.alias, version.id, actorOf(req.identity), now);
    await touchModel(tx, model.id, now);
    const request = promotionView({
      ...p,
      state: 'approved',
      decided_by: me,
      decided_at: now,
      gate_run_id: run.id,
      ...(overridden ? { override_by: me, override_reason: overrideReason as string } : {}),
    });
    await ctx.events.emit(tx, {
      event: 'promotion.approved',
      projectId: project.id,
      payload: { request, gates: { passed: outcome.passed, gateRunId: run.id, overridden } },
      at: now,
    });
    await emitAliasChanged(
      ctx,
      tx,
      project.id,
      model,
      p.alias,
      previous?.version ?? null,
      version.version,
      actorOf(req.identity),
      now,
    );
    return {
      result: { request, gates: gateRunView(run) },
      audit: {
        action: 'model.promotion.approve',
        objectType: 'model_version',
        objectId: target,
        projectId: project.id,
        details: {
          request: id,
          alias: p.alias,
          requestedBy: p.requested_by,
          previousVersion: previous?.version ?? null,
          gatesPassed: outcome.passed,
          gateRun: run.id,
          ...(overridden ? { override: true, overrideReason, failed } : {}),
        },
      },
    };
  });
}

export async function rejectPromotion(
  ctx: RegistryContext,
  req: FastifyRequest,
  project: ProjectAccess,
  id: string,
  reason: string,
) {
  const { svc } = ctx;
  if (reason.trim().length === 0)
    throw new FalajError('FALAJ_INVALID_ARGUMENT', 'a rejection needs a reason', { field: 'reason' });
  const { p, model, version } = await pendingRequest(svc, project, id);
  const me = req.identity!.username;
  return audited(svc, req, async (tx) => {
    const now = svc.clock.now();
    if (!(await decidePromotion(tx, id, { state: 'rejected', by: me, at: now, reason }))) throw notPending(p);
    const request = promotionView({
      ...p,
      state: 'rejected',
      decided_by: me,
      decided_at: now,
      decision_reason: reason,
    });
    await ctx.events.emit(tx, {
      event: 'promotion.rejected',
      projectId: project.id,
      payload: { request },
      at: now,
    });
    return {
      result: request,
      audit: {
        action: 'model.promotion.reject',
        objectType: 'model_version',
        objectId: objectId(project, model.name, version.version),
        projectId: project.id,
        details: { request: id, alias: p.alias, reason },
      },
    };
  });
}

/** The requester (or a maintainer) withdraws a pending request. */
export async function cancelPromotion(
  svc: Services,
  req: FastifyRequest,
  project: ProjectAccess,
  id: string,
) {
  const { p, model, version } = await pendingRequest(svc, project, id);
  const me = req.identity!.username;
  if (
    p.requested_by !== me &&
    project.role !== 'maintainer' &&
    project.role !== 'admin' &&
    !req.identity!.isOwner
  )
    throw new FalajError(
      'FALAJ_FORBIDDEN',
      'only the requester or a maintainer may cancel a promotion request',
      {
        request: id,
      },
    );
  return audited(svc, req, async (tx) => {
    const now = svc.clock.now();
    if (!(await decidePromotion(tx, id, { state: 'cancelled', by: me, at: now, reason: null })))
      throw notPending(p);
    return {
      result: promotionView({ ...p, state: 'cancelled', decided_by: me, decided_at: now }),
      audit: {
        action: 'model.promotion.cancel',
        objectType: 'model_version',
        objectId: objectId(project, model.name, version.version),
        projectId: project.id,
        details: { request: id, alias: p.alias },
      },
    };
  });
}
