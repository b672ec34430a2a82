// Running a gate policy over what the platform knows about a version (its evaluation, the
// champion's, its training data, both input schemas). Every check comes out with its value,
// threshold and outcome; a check that cannot be judged (no evaluation, no report for a column)
// fails and says why. Pure: the facts are gathered by gate-service.ts.
import type { FairnessReport } from '../../../statistics/fairness-types.js';
import type { FairnessEntry, MetricValues } from '../evaluation/engine.js';
import { type Comparison, compare, describeCheck, FAIRNESS_MEASURES, type GatePolicy } from './policy.js';

export type CheckKind = 'metric' | 'fairness' | 'champion' | 'training_data' | 'schema';

/** One check's outcome, as stored in gate_runs.checks. */
export interface CheckResult {
  name: string;
  kind: CheckKind;
  value: number | boolean | string | null;
  threshold: number | boolean | string | null;
  op: Comparison | null;
  passed: boolean;
  detail: string;
}

export interface EvaluationFacts {
  id: string;
  kind: string;
  /** "dataset@N" or the file's name. */
  data: string;
  dataDigest: string | null;
  metrics: MetricValues;
  fairness: Record<string, FairnessEntry>;
}

export interface SignatureInput {
  name: string;
  type?: string;
}

export interface GateFacts {
  evaluation: EvaluationFacts | null;
  /** The version holding the champion alias, when one does (and it is not the candidate). */
  champion: {
    alias: string;
    version: number;
    /** Its evaluation on the same data (digest) as the candidate's, if any. */
    evaluation: EvaluationFacts | null;
    inputs: SignatureInput[] | null;
  } | null;
  championAlias: string;
  trainingData: { label: string; status: string; overridden: boolean }[];
  inputs: SignatureInput[] | null;
}

function fmt(v: number | null | undefined): string {
  return v === null || v === undefined ? 'n/a' : String(Math.round(v * 1e6) / 1e6);
}

export function runChecks(policy: GatePolicy, facts: GateFacts): CheckResult[] {
  const out: CheckResult[] = [];
  const ev = facts.evaluation;
  const noEvaluation = `no evaluation of this version${policy.evaluation.dataset ? ` on dataset '${policy.evaluation.dataset}'` : ''}: run \`falaj models evaluate\` first`;

  for (const c of policy.metrics) {
    const value = ev ? (ev.metrics[c.metric] ?? null) : null;
    const passed = value !== null && compare(value, c.op, c.value);
    out.push({
      name: describeCheck(c),
      kind: 'metric',
      value,
      threshold: c.value,
      op: c.op,
      passed,
      detail: !ev
        ? noEvaluation
        : value === null
          ? `the evaluation on ${ev.data} has no value for ${c.metric}`
          : `${c.metric} = ${fmt(value)} on ${ev.data} (evaluation ${ev.id})`,
    });
  }

  for (const c of policy.fairness) {
    const entry = ev?.fairness[c.column];
    const report = entry?.report ?? null;
    let value: number | boolean | null = null;
    let detail: string;
    let passed = false;
    if (!ev) detail = noEvaluation;
    else if (!entry)
      detail = `the evaluation on ${ev.data} has no fairness report for '${c.column}': evaluate with --sensitive ${c.column}`;
    else if (!report)
      detail = `no fairness report for '${c.column}': ${(entry as { reason?: string }).reason ?? 'unknown'}`;
    else if (c.measure === 'four_fifths_rule') {
      value = report.fourFifthsRule.passed;
      passed = value;
      detail = passed
        ? `every group of '${c.column}' is selected at ≥ 80% of the highest rate (${fmt(report.fourFifthsRule.highestSelectionRate)})`
        : `groups below 80% of the highest selection rate: ${report.fourFifthsRule.failingGroups.join('; ')}`;
    } else {
      value = measureOf(report, c.measure);
      passed = value !== null && compare(value, c.op, c.value);
      detail =
        value === null
          ? `${c.measure} is undefined for '${c.column}' (a group without positives or predictions)`
          : `${c.measure} = ${fmt(value)} across ${report.groups.length} groups of '${c.column}'${report.smallGroups.length ? ` (small: ${report.smallGroups.join('; ')})` : ''}`;
    }
    out.push({
      name: describeCheck(c),
      kind: 'fairness',
      value,
      threshold: c.measure === 'four_fifths_rule' ? true : c.value,
      op: c.measure === 'four_fifths_rule' ? '==' : c.op,
      passed,
      detail,
    });
  }

  for (const c of policy.champion) {
    const value = ev ? (ev.metrics[c.metric] ?? null) : null;
    const champ = facts.champion;
    if (!champ) {
      out.push({
        name: describeCheck(c),
        kind: 'champion',
        value,
        threshold: null,
        op: c.op,
        passed: true,
        detail: `no version holds '${facts.championAlias}': nothing to regress against`,
      });
      continue;
    }
    const base = champ.evaluation ? (champ.evaluation.metrics[c.championMetric] ?? null) : null;
    const threshold = base === null ? null : base + c.offset;
    const passed = value !== null && threshold !== null && compare(value, c.op, threshold);
    out.push({
      name: describeCheck(c),
      kind: 'champion',
      value,
      threshold,
      op: c.op,
      passed,
      detail: !ev
        ? noEvaluation
        : !champ.evaluation
          ? `the champion (version ${champ.version}, '${champ.alias}') has no evaluation on ${ev.data} (digest ${ev.dataDigest ?? 'n/a'}): evaluate it on the same data`
          : `${c.metric} = ${fmt(value)} against champion version ${champ.version}'s ${c.championMetric} = ${fmt(base)} on ${ev.data}`,
    });
  }

  if (policy.trainingDataValidated) {
    const data = facts.trainingData;
    const bad = data.filter((d) => d.status !== 'passed');
    const passed = data.length > 0 && bad.length === 0;
    out.push({
      name: 'training_data_validated',
      kind: 'training_data',
      value:
        data.length === 0
          ? null
          : data.map((d) => `${d.label}: ${d.status}${d.overridden ? ' (overridden)' : ''}`).join(', '),
      threshold: 'passed',
      op: '==',
      passed,
      detail:
        data.length === 0
          ? 'no dataset version is recorded as this version’s training data (train from a dataset version: --data NAME@N)'
          : passed
            ? `every training data version passed its validation suite (${data.map((d) => d.label).join(', ')})`
            : `not passed: ${bad.map((d) => `${d.label} is ${d.status}${d.overridden ? ' (overridden by an admin)' : ''}`).join(', ')}`,
    });
  }

  if (policy.schemaCompatible) {
    const champ = facts.champion;
    if (!champ) {
      out.push({
        name: 'schema_compatible',
        kind: 'schema',
        value: null,
        threshold: null,
        op: null,
        passed: true,
        detail: `no version holds '${facts.championAlias}': no schema to stay compatible with`,
      });
    } else {
      const r = schemaCompatibility(facts.inputs, champ.inputs);
      out.push({
        name: 'schema_compatible',
        kind: 'schema',
        value: r.compatible,
        threshold: true,
        op: '==',
        passed: r.compatible,
        detail: r.detail.replace('{champion}', `version ${champ.version} ('${champ.alias}')`),
      });
    }
  }
  return out;
}

function measureOf(report: FairnessReport, measure: string): number | null {
  const path = FAIRNESS_MEASURES[measure as keyof typeof FAIRNESS_MEASURES];
  const section = report[path[0]] as unknown as Record<string, number | null>;
  const v = section[path[1]];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/**
 * Callers of the champion send its inputs: the candidate may take fewer, never one more, and
 * each it takes must keep its type.
 */
export function schemaCompatibility(
  candidate: SignatureInput[] | null,
  champion: SignatureInput[] | null,
): { compatible: boolean; detail: string } {
  if (!candidate)
    return { compatible: false, detail: 'this version has no recorded input schema (signature)' };
  if (!champion)
    return { compatible: true, detail: '{champion} has no recorded input schema: nothing to compare' };
  const theirs = new Map(champion.map((i) => [i.name, i.type]));
  const added = candidate.filter((i) => !theirs.has(i.name)).map((i) => i.name);
  const retyped = candidate
    .filter(
      (i) =>
        theirs.has(i.name) &&
        i.type !== undefined &&
        theirs.get(i.name) !== undefined &&
        theirs.get(i.name) !== i.type,
    )
    .map((i) => `${i.name} (${theirs.get(i.name)} → ${i.type})`);
  if (added.length === 0 && retyped.length === 0)
    return { compatible: true, detail: `every input is one {champion} takes, with the same type` };
  return {
    compatible: false,
    detail: [
      added.length ? `inputs {champion} does not take: ${added.join(', ')}` : '',
      retyped.length ? `inputs whose type changed: ${retyped.join(', ')}` : '',
    ]
      .filter(Boolean)
      .join('; '),
  };
}
