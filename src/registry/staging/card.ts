// The model card of a version, generated from what the platform knows: the model, its training
// (run params, the trainer's own validation, the dataset versions with digests, row counts and
// PII-tagged columns), its evaluations and fairness by group, its gate runs, and every
// promotion with who requested, approved or overrode it. Only intended use and limitations are
// written by hand (model_versions.card).
import type { FastifyRequest } from 'fastify';
import { piiColumns } from '../../data/version-facts.js';
import { audited } from '../../http/audited.js';
import type { ProjectAccess } from '../../http/identity.js';
import type { Services } from '../../http/services.js';
import type { Executor } from '../../store/executor.js';
import { loadRuns } from '../../tracking/run-loader.js';
import { aliasesOfVersion } from '../alias-store.js';
import type { RegisteredModelRow } from '../model-store.js';
import { type ModelVersionRow, setVersionCard, signatureOf, versionTags } from '../version-store.js';
import { trainerInfo } from './evaluation-service.js';
import { evaluationView, listEvaluations } from './evaluation-store.js';
import { trainingDataOf } from './gate-service.js';
import { currentPolicy, gateRunsByIds, gateRunView, listGateRuns, policyView } from './gate-store.js';
import { listPromotions, promotionView } from './promotion-store.js';

export interface HandWritten {
  intendedUse?: string;
  limitations?: string;
}

export function handWritten(v: Pick<ModelVersionRow, 'card'>): HandWritten {
  if (!v.card) return {};
  try {
    const c = JSON.parse(v.card) as { intended_use?: string; limitations?: string };
    return {
      ...(c.intended_use ? { intendedUse: c.intended_use } : {}),
      ...(c.limitations ? { limitations: c.limitations } : {}),
    };
  } catch {
    return {};
  }
}

const iso = (t: number) => new Date(Number(t)).toISOString();

export async function buildCard(
  svc: Services,
  db: Executor,
  project: { id: string; name: string },
  model: RegisteredModelRow,
  version: ModelVersionRow,
) {
  const [run] = version.run_id ? await loadRuns(db, [version.run_id]) : [];
  const trainer = await trainerInfo(svc, project.id, version).catch(() => null);
  const data = await trainingDataOf(db, project.id, version);
  const training = {
    run: run
      ? {
          id: run.info.id,
          name: run.tags.find((t) => t.key === 'mlflow.runName')?.value ?? null,
          status: run.info.status,
          params: Object.fromEntries(run.params.map((p) => [p.key, p.value])),
          metrics: Object.fromEntries(
            run.metrics.map((m) => [m.key, Number.isFinite(m.value) ? m.value : null]),
          ),
        }
      : null,
    validation: trainer?.info.validation
      ? {
          kind: trainer.info.validation.kind,
          folds: trainer.info.validation.kind === 'cv' ? trainer.info.validation.k : null,
          std: trainer.info.validation.kind === 'cv' ? trainer.info.validation.std : null,
          holdoutFraction:
            trainer.info.validation.kind === 'holdout' ? trainer.info.validation.fraction : null,
          metrics: trainer.info.metrics ?? {},
        }
      : null,
    data: await Promise.all(
      data.map(async (d) => ({
        dataset: d.dataset,
        version: d.version,
        digest: d.digest,
        rows: d.rowCount,
        validation: d.status,
        overridden: d.overridden,
        piiColumns: await piiColumns(db, d.datasetId),
      })),
    ),
  };

  const evaluations = (await listEvaluations(db, version.id)).map(evaluationView);
  const promotions = (await listPromotions(db, project.id, { versionId: version.id })).map(promotionView);
  const policy = await currentPolicy(db, model.id);
  const referenced = new Set(promotions.map((p) => p.gateRunId).filter((x): x is string => x !== null));
  const recent = (await listGateRuns(db, version.id)).slice(0, 10);
  const extra = await gateRunsByIds(
    db,
    [...referenced].filter((id) => !recent.some((r) => r.id === id)),
  );
  const gateRuns = [...recent, ...extra]
    .map(gateRunView)
    .sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
  const signature = signatureOf(version);
  const tags = (await versionTags(db, [version.id])).get(version.id) ?? [];

  return {
    card: 'falaj-model-card/1',
    generatedAt: new Date(svc.clock.now()).toISOString(),
    model: {
      project: project.name,
      name: model.name,
      description: model.description,
      version: version.version,
      versionDescription: version.description,
      format: version.format,
      source: version.source,
      runId: version.run_id,
      registeredAt: iso(version.created_at),
      registeredBy: version.user_id,
      aliases: await aliasesOfVersion(db, version.id),
      inputs: signature?.inputs ?? null,
      outputs: signature?.outputs ?? null,
      tags: Object.fromEntries(tags.map((t) => [t.key, t.value])),
    },
    ...handWritten(version),
    training,
    evaluations: evaluations.map((e) => ({
      id: e.id,
      kind: e.kind,
      data: e.result.data,
      digest: e.dataDigest,
      rows: e.rowCount,
      task: e.result.task ?? null,
      metrics: e.result.metrics,
      ...(e.result.cv ? { cv: { folds: e.result.cv.k, std: e.result.cv.std } } : {}),
      slices: e.result.slices ?? {},
      createdAt: e.createdAt,
      createdBy: e.createdBy,
    })),
    fairness: evaluations.flatMap((e) =>
      Object.values(e.result.fairness ?? {}).map((f) => ({
        evaluation: e.id,
        data: e.result.data,
        column: f.column,
        ...(f.report
          ? {
              positiveClass: e.result.positiveClass ?? null,
              demographicParityRatio: f.report.fairlearn.demographicParityRatio,
              demographicParityDifference: f.report.fairlearn.demographicParityDifference,
              equalizedOddsDifference: f.report.fairlearn.equalizedOddsDifference,
              fourFifthsRule: f.report.fourFifthsRule,
              groups: f.report.groups.map((g) => ({
                group: g.name,
                rows: g.count,
                selectionRate: g.selectionRate,
                truePositiveRate: g.truePositiveRate,
                falsePositiveRate: g.falsePositiveRate,
                impactRatio: g.impactRatio,
                small: g.small,
              })),
            }
          : { unavailable: (f as { reason: string }).reason }),
      })),
    ),
    gates: {
      policyRevision: policy ? Number(policy.revision) : null,
      policy: policy ? policyView(policy).source : null,
      runs: gateRuns,
    },
    promotions: promotions.map((p) => ({
      ...p,
      gates: gateRuns.find((g) => g.id === p.gateRunId) ?? null,
    })),
  };
}

export type ModelCard = Awaited<ReturnType<typeof buildCard>>;

const num = (v: unknown) =>
  typeof v === 'number'
    ? String(Math.round(v * 10000) / 10000)
    : v === null || v === undefined
      ? '–'
      : String(v);
const cell = (v: unknown) => num(v).replaceAll('|', '\\|').replaceAll('\n', ' ');

function table(head: string[], rows: unknown[][]): string {
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}

/** The card as Markdown. */
export function cardMarkdown(c: ModelCard): string {
  const out: string[] = [];
  const m = c.model;
  out.push(`# Model card: ${m.name} version ${m.version}`, '');
  out.push(
    `Project \`${m.project}\` · generated ${c.generatedAt} by Falaj from what the platform recorded.`,
    '',
  );
  out.push('## Model details', '');
  out.push(
    table(
      ['field', 'value'],
      [
        ['description', m.versionDescription || m.description || '–'],
        ['format', m.format],
        ['source', m.source],
        ['training run', m.runId ?? '–'],
        ['registered', `${m.registeredAt} by ${m.registeredBy}`],
        ['aliases', m.aliases.join(', ') || '–'],
        ['inputs', m.inputs ? m.inputs.map((i) => `${i.name}: ${i.type}`).join(', ') : '–'],
      ],
    ),
    '',
  );
  out.push('## Intended use', '', c.intendedUse ?? '_Not stated._', '');
  out.push('## Limitations', '', c.limitations ?? '_Not stated._', '');

  out.push('## Training data', '');
  if (c.training.data.length === 0)
    out.push('_No dataset version is recorded as this version’s training data._', '');
  else
    out.push(
      table(
        ['dataset', 'version', 'digest', 'rows', 'validation', 'PII-tagged columns'],
        c.training.data.map((d) => [
          d.dataset,
          d.version,
          d.digest,
          d.rows,
          `${d.validation}${d.overridden ? ' (overridden)' : ''}`,
          d.piiColumns
            .map((p) => `${p.column} (${p.tags.filter((t) => t !== 'pii').join(', ') || 'pii'})`)
            .join(', ') || 'none',
        ]),
      ),
      '',
    );
  out.push('## Training parameters and validation', '');
  if (c.training.run) {
    out.push(table(['parameter', 'value'], Object.entries(c.training.run.params)), '');
  } else out.push('_No training run is recorded._', '');
  if (c.training.validation) {
    const v = c.training.validation;
    out.push(
      v.kind === 'cv'
        ? `Cross-validation, ${v.folds} folds (mean ± std):`
        : `Hold-out of ${v.holdoutFraction}:`,
      '',
    );
    out.push(
      table(
        ['metric', 'value', ...(v.kind === 'cv' ? ['std'] : [])],
        Object.entries(v.metrics).map(([k, x]) => [k, x, ...(v.kind === 'cv' ? [v.std?.[k]] : [])]),
      ),
      '',
    );
  }

  out.push('## Evaluation', '');
  const evals = c.evaluations.filter((e) => e.kind !== 'cv');
  if (evals.length === 0) out.push('_Not evaluated yet._', '');
  for (const e of evals) {
    out.push(`### ${e.data} (${e.rows ?? '?'} rows, digest ${e.digest ?? '–'})`, '');
    out.push(`Evaluation ${e.id}, ${e.createdAt} by ${e.createdBy}.`, '');
    out.push(table(['metric', 'value'], Object.entries(e.metrics)), '');
    for (const [col, slices] of Object.entries(e.slices)) {
      const keys = ['auc', 'accuracy', 'f1', 'rmse', 'mae', 'r2'].filter((k) =>
        slices.some((s) => k in s.metrics),
      );
      out.push(`Slices by \`${col}\`:`, '');
      out.push(
        table(
          [col, 'rows', ...keys],
          slices.map((s) => [s.value ?? 'missing', s.rows, ...keys.map((k) => s.metrics[k])]),
        ),
        '',
      );
    }
  }

  out.push('## Fairness by group', '');
  if (c.fairness.length === 0) out.push('_No sensitive column was evaluated._', '');
  for (const f of c.fairness) {
    out.push(`### \`${f.column}\` on ${f.data}`, '');
    if ('unavailable' in f && f.unavailable) {
      out.push(`_${f.unavailable}_`, '');
      continue;
    }
    if (!('groups' in f) || !f.groups) continue;
    out.push(
      `Demographic parity ratio ${num(f.demographicParityRatio)}, difference ${num(f.demographicParityDifference)}; equalized odds difference ${num(f.equalizedOddsDifference)}; four-fifths rule ${f.fourFifthsRule?.passed ? 'holds' : `fails (${f.fourFifthsRule?.failingGroups.join('; ')})`}. Positive outcome: ${f.positiveClass}.`,
      '',
    );
    out.push(
      table(
        ['group', 'rows', 'selection rate', 'TPR', 'FPR', 'impact ratio'],
        f.groups.map((g) => [
          `${g.group}${g.small ? ' (small)' : ''}`,
          g.rows,
          g.selectionRate,
          g.truePositiveRate,
          g.falsePositiveRate,
          g.impactRatio,
        ]),
      ),
      '',
    );
  }

  out.push('## Gates', '');
  out.push(
    c.gates.policyRevision === null
      ? '_No gate policy is set._'
      : `Current policy: revision ${c.gates.policyRevision}.`,
    '',
  );
  if (c.gates.policy) out.push('```yaml', c.gates.policy.trimEnd(), '```', '');
  for (const g of c.gates.runs) {
    out.push(
      `Gate run ${g.id} (${g.createdAt}, by ${g.createdBy}, policy revision ${g.policyRevision ?? 'none'}): **${g.passed ? 'passed' : 'failed'}**`,
      '',
    );
    if (g.checks.length > 0)
      out.push(
        table(
          ['check', 'value', 'threshold', 'outcome', 'detail'],
          g.checks.map((k) => [k.name, k.value, k.threshold, k.passed ? 'pass' : 'FAIL', k.detail]),
        ),
        '',
      );
  }

  out.push('## Promotions and approvals', '');
  if (c.promotions.length === 0) out.push('_Never proposed for a protected alias._', '');
  for (const p of c.promotions) {
    const who =
      p.state === 'approved'
        ? p.overrideBy
          ? `approved by ${p.decidedBy}, **overriding failed gates** with the reason: “${p.overrideReason}”`
          : `approved by ${p.decidedBy} with every gate passed`
        : p.state === 'rejected'
          ? `rejected by ${p.decidedBy}: “${p.decisionReason}”`
          : p.state === 'cancelled'
            ? `cancelled by ${p.decidedBy}`
            : 'pending';
    out.push(
      `- \`${p.alias}\`: requested by ${p.requestedBy} at ${p.requestedAt}${p.note ? ` (“${p.note}”)` : ''}; ${who}${p.decidedAt ? ` at ${p.decidedAt}` : ''}${p.gateRunId ? `; gate run ${p.gateRunId}` : ''}.`,
    );
  }
  out.push('');
  return `${out.join('\n')}\n`;
}

/** Sets the hand-written parts (a field left out keeps its text; null or '' clears it), audited. */
export async function setCardText(
  svc: Services,
  req: FastifyRequest,
  project: ProjectAccess,
  model: RegisteredModelRow,
  version: ModelVersionRow,
  input: { intendedUse?: string | null; limitations?: string | null },
): Promise<HandWritten> {
  const before = handWritten(version);
  const next: HandWritten = { ...before };
  for (const key of ['intendedUse', 'limitations'] as const) {
    const v = input[key];
    if (v === undefined) continue;
    if (v === null || v.trim() === '') delete next[key];
    else next[key] = v;
  }
  return audited(svc, req, async (tx) => {
    const stored =
      next.intendedUse || next.limitations
        ? {
            ...(next.intendedUse ? { intended_use: next.intendedUse } : {}),
            ...(next.limitations ? { limitations: next.limitations } : {}),
          }
        : null;
    await setVersionCard(tx, version.id, stored, svc.clock.now());
    return {
      result: next,
      audit: {
        action: 'model.version.card.update',
        objectType: 'model_version',
        objectId: `${project.name}/${model.name}@${version.version}`,
        projectId: project.id,
        details: { fields: Object.keys(input) },
      },
    };
  });
}
