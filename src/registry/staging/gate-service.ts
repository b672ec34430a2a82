// Gates: setting a model's policy (a new audited revision) and running it on a version. The
// facts a policy judges are gathered here — the evaluation it reads, the champion (the version
// holding the protected alias) and its evaluation on the same data, the training data versions
// and their validation status, both input schemas — then gates/checks.ts judges them.
import type { FastifyRequest } from 'fastify';
import { newId } from '../../core/ids.js';
import {
  type DataVersionFacts,
  dataVersionByName,
  dataVersionsByDigests,
  dataVersionsByIds,
  versionIdsOfDataset,
} from '../../data/version-facts.js';
import { audited } from '../../http/audited.js';
import type { ProjectAccess } from '../../http/identity.js';
import type { Services } from '../../http/services.js';
import { walk } from '../../lineage/lineage-store.js';
import type { Executor } from '../../store/executor.js';
import type { GateRunsTable, ModelEvaluationsTable } from '../../store/schema.js';
import { loadRuns } from '../../tracking/run-loader.js';
import { getAlias } from '../alias-store.js';
import { protectedAliasesOf, type RegisteredModelRow } from '../model-store.js';
import { getVersionById, type ModelVersionRow, signatureOf } from '../version-store.js';
import { evaluationOnDigest, evaluationView, latestDataEvaluation } from './evaluation-store.js';
import {
  currentPolicy,
  gateRunView,
  insertGateRun,
  insertPolicy,
  type PolicyView,
  policyView,
} from './gate-store.js';
import type { EvaluationFacts, GateFacts } from './gates/checks.js';
import { type CheckResult, runChecks } from './gates/checks.js';
import { EMPTY_POLICY, type GatePolicy, parsePolicy } from './gates/policy.js';

/** Sets the model's policy from YAML or JSON text: a new revision, audited; refused in full if invalid. */
export async function setPolicy(
  svc: Services,
  req: FastifyRequest,
  project: ProjectAccess,
  model: RegisteredModelRow,
  source: string,
): Promise<PolicyView> {
  const policy = parsePolicy(source);
  return audited(svc, req, async (tx) => {
    const previous = await currentPolicy(tx, model.id);
    const row = await insertPolicy(tx, {
      modelId: model.id,
      policy,
      source,
      now: svc.clock.now(),
      by: req.identity!.username,
    });
    return {
      result: policyView(row),
      audit: {
        action: 'model.gates.policy.set',
        objectType: 'registered_model',
        objectId: `${project.name}/${model.name}`,
        projectId: project.id,
        details: {
          revision: row.revision,
          previousRevision: previous ? Number(previous.revision) : null,
          checks: policy.metrics.length + policy.champion.length + policy.fairness.length,
        },
      },
    };
  });
}

function evaluationFacts(row: ModelEvaluationsTable): EvaluationFacts {
  const v = evaluationView(row);
  return {
    id: v.id,
    kind: v.kind,
    data: v.result.data,
    dataDigest: v.dataDigest,
    metrics: v.result.metrics ?? {},
    fairness: v.result.fairness ?? {},
  };
}

/**
 * The dataset versions a model version was trained on, from every trace the platform keeps:
 * lineage edges dataset_version → run, the run's `falaj.training.data` tag (server training
 * from NAME@N), and the run's logged inputs whose digest is a dataset version's.
 */
export async function trainingDataOf(
  db: Executor,
  projectId: string,
  version: Pick<ModelVersionRow, 'run_id'>,
): Promise<DataVersionFacts[]> {
  if (!version.run_id) return [];
  const found = new Map<string, DataVersionFacts>();
  const edges = await walk(db, projectId, { kind: 'run', id: version.run_id }, 'up', { depth: 1 });
  const ids = edges.filter((e) => e.from.kind === 'dataset_version').map((e) => e.from.id);
  for (const v of await dataVersionsByIds(db, projectId, ids)) found.set(v.id, v);
  const [run] = await loadRuns(db, [version.run_id]);
  if (run) {
    const tag = run.tags.find((t) => t.key === 'falaj.training.data')?.value;
    const m = tag ? /^(.+)@(\d+)$/.exec(tag) : null;
    if (m) {
      const v = await dataVersionByName(db, projectId, m[1] as string, Number(m[2]));
      if (v) found.set(v.id, v);
    }
    const digests = run.inputs.map((i) => i.dataset.digest);
    for (const v of await dataVersionsByDigests(db, projectId, digests)) found.set(v.id, v);
  }
  return [...found.values()];
}

/** The alias whose holder is the champion: the policy's, else the one asked for, else the first protected. */
export function championAliasOf(model: RegisteredModelRow, policy: GatePolicy, alias?: string): string {
  return policy.championAlias ?? alias ?? protectedAliasesOf(model)[0] ?? 'production';
}

export async function gatherFacts(
  db: Executor,
  projectId: string,
  model: RegisteredModelRow,
  version: ModelVersionRow,
  policy: GatePolicy,
  alias?: string,
): Promise<GateFacts> {
  const restrict = policy.evaluation.dataset
    ? await versionIdsOfDataset(db, projectId, policy.evaluation.dataset)
    : undefined;
  const evalRow = await latestDataEvaluation(db, version.id, restrict);
  const evaluation = evalRow ? evaluationFacts(evalRow) : null;
  const championAlias = championAliasOf(model, policy, alias);
  const holder = await getAlias(db, model.id, championAlias);
  let champion: GateFacts['champion'] = null;
  if (holder && holder.versionId !== version.id) {
    const cv = await getVersionById(db, holder.versionId);
    if (cv) {
      const ce = evaluation?.dataDigest
        ? await evaluationOnDigest(db, cv.id, evaluation.dataDigest)
        : undefined;
      champion = {
        alias: championAlias,
        version: cv.version,
        evaluation: ce ? evaluationFacts(ce) : null,
        inputs: signatureOf(cv)?.inputs ?? null,
      };
    }
  }
  const trainingData = (await trainingDataOf(db, projectId, version)).map((d) => ({
    label: `${d.dataset}@${d.version}`,
    status: d.status,
    overridden: d.overridden,
  }));
  return {
    evaluation,
    champion,
    championAlias,
    trainingData,
    inputs: signatureOf(version)?.inputs ?? null,
  };
}

export interface GateOutcome {
  policyRevision: number | null;
  passed: boolean;
  checks: CheckResult[];
}

/** Runs the model's current policy (none: no checks, passed) on a version; stores nothing. */
export async function judge(
  db: Executor,
  projectId: string,
  model: RegisteredModelRow,
  version: ModelVersionRow,
  alias?: string,
): Promise<GateOutcome> {
  const row = await currentPolicy(db, model.id);
  const policy = row ? policyView(row).policy : EMPTY_POLICY;
  const facts = await gatherFacts(db, projectId, model, version, policy, alias);
  const checks = runChecks(policy, facts);
  return {
    policyRevision: row ? Number(row.revision) : null,
    passed: checks.every((c) => c.passed),
    checks,
  };
}

/** The stored row of a gate run (inside the caller's transaction). */
export async function recordGateRun(
  tx: Executor,
  versionId: string,
  outcome: GateOutcome,
  p: { now: number; by: string },
): Promise<GateRunsTable> {
  const row: GateRunsTable = {
    id: newId(),
    version_id: versionId,
    policy_revision: outcome.policyRevision,
    passed: outcome.passed ? 1 : 0,
    checks: JSON.stringify(outcome.checks),
    created_at: p.now,
    created_by: p.by,
  };
  await insertGateRun(tx, row);
  return row;
}

/** `falaj models gates run`: judges and stores a gate run, audited. */
export async function runGates(
  svc: Services,
  req: FastifyRequest,
  project: ProjectAccess,
  model: RegisteredModelRow,
  version: ModelVersionRow,
  alias?: string,
) {
  const outcome = await judge(svc.store.db, project.id, model, version, alias);
  return audited(
    svc,
    req,
    async (tx) => {
      const row = await recordGateRun(tx, version.id, outcome, {
        now: svc.clock.now(),
        by: req.identity!.username,
      });
      return {
        result: gateRunView(row),
        audit: {
          action: 'model.gates.run',
          objectType: 'model_version',
          objectId: `${project.name}/${model.name}@${version.version}`,
          projectId: project.id,
          details: {
            gateRun: row.id,
            passed: outcome.passed,
            policyRevision: outcome.policyRevision,
            failed: outcome.checks.filter((c) => !c.passed).map((c) => c.name),
          },
        },
      };
    },
    201,
  );
}
