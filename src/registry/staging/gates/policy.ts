// A registered model's gate policy: what a version must show before a protected alias may
// point at it. Written as YAML or JSON, checked in full when it is set (a metric or measure
// that does not exist is refused then, never discovered at promotion time), and stored
// normalised beside the text that was given. Pure: parsing and validation only.
//
//   evaluation:                      # which evaluation the checks read (default: the latest)
//     dataset: adult-holdout         #   the latest on this dataset
//   metrics:
//     - auc >= 0.90
//     - logloss <= 0.45
//     - auc >= champion.auc - 0.005  # no regression against the version holding the alias
//   fairness:                        # per sensitive column of the evaluation
//     sex:
//       - demographic_parity_ratio >= 0.8
//       - equalized_odds_difference <= 0.1
//       - four_fifths_rule
//   champion_alias: production       # default: the alias being promoted to
//   training_data_validated: true    # the training data version passed its validation suite
//   schema_compatible: true          # the inputs fit the champion's (model_versions.signature)
import { parseDocument } from 'yaml';
import { FalajError } from '../../../core/errors.js';

export const COMPARISONS = ['>=', '<=', '>', '<', '==', '!='] as const;
export type Comparison = (typeof COMPARISONS)[number];

/** The scalar metrics the trainer reports (src/training/metrics/evaluate.ts), by task. */
export const CLASSIFICATION_METRICS = [
  'auc',
  'logloss',
  'accuracy',
  'precision',
  'recall',
  'f1',
  'brier',
  'prAuc',
  'precisionWeighted',
  'recallWeighted',
  'f1Weighted',
] as const;
export const REGRESSION_METRICS = ['rmse', 'mae', 'r2', 'mape'] as const;
export const METRICS: readonly string[] = [...CLASSIFICATION_METRICS, ...REGRESSION_METRICS];

/** Fairness measures a check may name, and where each lives in the statistics core's report. */
export const FAIRNESS_MEASURES = {
  demographic_parity_difference: ['fairlearn', 'demographicParityDifference'],
  demographic_parity_ratio: ['fairlearn', 'demographicParityRatio'],
  equalized_odds_difference: ['fairlearn', 'equalizedOddsDifference'],
  equalized_odds_ratio: ['fairlearn', 'equalizedOddsRatio'],
  equal_opportunity_difference: ['fairlearn', 'equalOpportunityDifference'],
  equal_opportunity_ratio: ['fairlearn', 'equalOpportunityRatio'],
  disparate_impact: ['aif360', 'disparateImpact'],
  statistical_parity_difference: ['aif360', 'statisticalParityDifference'],
  average_odds_difference: ['aif360', 'averageOddsDifference'],
  theil_index: ['aif360', 'theilIndex'],
} as const satisfies Record<string, readonly ['fairlearn' | 'aif360', string]>;
export type FairnessMeasure = keyof typeof FAIRNESS_MEASURES | 'four_fifths_rule';
const MEASURE_NAMES: readonly string[] = [...Object.keys(FAIRNESS_MEASURES), 'four_fifths_rule'];

export interface MetricCheck {
  metric: string;
  op: Comparison;
  value: number;
}

/** `metric op champion.championMetric + offset`. */
export interface ChampionCheck {
  metric: string;
  op: Comparison;
  championMetric: string;
  offset: number;
}

export interface FairnessCheck {
  column: string;
  measure: FairnessMeasure;
  op: Comparison;
  /** For four_fifths_rule: 1 (the rule must hold). */
  value: number;
}

export interface GatePolicy {
  evaluation: { dataset?: string };
  metrics: MetricCheck[];
  champion: ChampionCheck[];
  fairness: FairnessCheck[];
  championAlias: string | null;
  trainingDataValidated: boolean;
  schemaCompatible: boolean;
}

export const EMPTY_POLICY: GatePolicy = {
  evaluation: {},
  metrics: [],
  champion: [],
  fairness: [],
  championAlias: null,
  trainingDataValidated: false,
  schemaCompatible: false,
};

export const POLICY_SOURCE_MAX = 64 * 1024;

function invalid(message: string, details: Record<string, unknown> = {}): FalajError {
  return new FalajError('FALAJ_GATE_POLICY_INVALID', `gate policy: ${message}`, details);
}

/** snake_case spellings of the camelCase metrics (pr_auc → prAuc) and a few common names. */
const METRIC_ALIASES: Record<string, string> = {
  pr_auc: 'prAuc',
  roc_auc: 'auc',
  log_loss: 'logloss',
  precision_weighted: 'precisionWeighted',
  recall_weighted: 'recallWeighted',
  f1_weighted: 'f1Weighted',
};

function metricName(name: string, where: string): string {
  const canonical = METRIC_ALIASES[name] ?? name;
  if (!METRICS.includes(canonical))
    throw invalid(`${where}: '${name}' is not a metric Falaj reports (known: ${METRICS.join(', ')})`, {
      field: where,
      metric: name,
      known: METRICS,
    });
  return canonical;
}

const NUMBER = String.raw`[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?`;
const CHECK = new RegExp(
  String.raw`^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|==|!=|>|<)\s*(?:(${NUMBER})|champion\.([A-Za-z_][A-Za-z0-9_]*)\s*(?:([+-])\s*(${NUMBER}))?)\s*$`,
);

function parseExpression(
  text: unknown,
  where: string,
): { name: string; op: Comparison; value?: number; champion?: { metric: string; offset: number } } {
  if (typeof text !== 'string')
    throw invalid(`${where}: a check is a string like "auc >= 0.9" (got ${JSON.stringify(text)})`, {
      field: where,
    });
  const m = CHECK.exec(text);
  if (!m)
    throw invalid(
      `${where}: '${text}' does not parse (write "NAME OP NUMBER" or "NAME OP champion.NAME - NUMBER", OP one of ${COMPARISONS.join(' ')})`,
      { field: where, check: text },
    );
  const [, name, op, num, champ, sign, offset] = m;
  if (num !== undefined) return { name: name as string, op: op as Comparison, value: Number(num) };
  const off = offset === undefined ? 0 : Number(offset) * (sign === '-' ? -1 : 1);
  return { name: name as string, op: op as Comparison, champion: { metric: champ as string, offset: off } };
}

/** A check given as an object: {metric, op, value} (JSON users' form). */
function objectCheck(v: Record<string, unknown>, key: 'metric' | 'measure', where: string): string {
  const name = v[key];
  const { op, value } = v;
  if (typeof name !== 'string' || typeof op !== 'string' || !(COMPARISONS as readonly string[]).includes(op))
    throw invalid(`${where}: an object check needs "${key}", "op" (${COMPARISONS.join(' ')}) and "value"`, {
      field: where,
    });
  const extra = Object.keys(v).filter((k) => ![key, 'op', 'value'].includes(k));
  if (extra.length > 0)
    throw invalid(`${where}: unknown field${extra.length > 1 ? 's' : ''} ${extra.join(', ')}`, {
      field: where,
    });
  if (typeof value === 'number') return `${name} ${op} ${value}`;
  if (typeof value === 'string' && value.startsWith('champion.')) return `${name} ${op} ${value}`;
  throw invalid(`${where}: "value" must be a number (or "champion.METRIC - N")`, { field: where });
}

function list(v: unknown, where: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalid(`${where} must be a list of checks`, { field: where });
  return v;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const TOP_LEVEL = new Set([
  'evaluation',
  'metrics',
  'champion',
  'fairness',
  'champion_alias',
  'training_data_validated',
  'schema_compatible',
]);

/** Parses the policy text (YAML, of which JSON is a subset) and checks every part of it. */
export function parsePolicy(source: string): GatePolicy {
  if (source.length > POLICY_SOURCE_MAX) throw invalid(`larger than ${POLICY_SOURCE_MAX} characters`);
  const doc = parseDocument(source, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0)
    throw invalid(`not valid YAML or JSON: ${doc.errors[0]?.message.split('\n')[0]}`, {
      line: doc.errors[0]?.linePos?.[0]?.line ?? null,
    });
  const raw: unknown = doc.toJS({ maxAliasCount: 10 });
  return normalisePolicy(raw);
}

/** Checks a parsed policy object (a JSON body's `policy`, or what YAML gave). */
export function normalisePolicy(raw: unknown): GatePolicy {
  if (raw === null || raw === undefined) return structuredClone(EMPTY_POLICY);
  if (!isRecord(raw)) throw invalid('must be a mapping of sections (metrics, fairness, ...)');
  const unknown = Object.keys(raw).filter((k) => !TOP_LEVEL.has(k));
  if (unknown.length > 0)
    throw invalid(
      `unknown section${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (known: ${[...TOP_LEVEL].join(', ')})`,
      {
        unknown,
      },
    );
  const policy: GatePolicy = structuredClone(EMPTY_POLICY);

  if (raw.evaluation !== undefined && raw.evaluation !== null) {
    if (!isRecord(raw.evaluation))
      throw invalid('evaluation must be a mapping like {dataset: NAME}', { field: 'evaluation' });
    const extra = Object.keys(raw.evaluation).filter((k) => k !== 'dataset');
    if (extra.length > 0)
      throw invalid(`evaluation: unknown field ${extra.join(', ')}`, { field: 'evaluation' });
    const ds = raw.evaluation.dataset;
    if (ds !== undefined) {
      if (typeof ds !== 'string' || ds === '')
        throw invalid('evaluation.dataset must name a dataset', { field: 'evaluation.dataset' });
      policy.evaluation.dataset = ds;
    }
  }

  const metricEntries = [
    ...list(raw.metrics, 'metrics').map((v, i) => ({ v, where: `metrics[${i}]` })),
    ...list(raw.champion, 'champion').map((v, i) => ({ v, where: `champion[${i}]` })),
  ];
  for (const { v, where } of metricEntries) {
    const e = parseExpression(isRecord(v) ? objectCheck(v, 'metric', where) : v, where);
    const metric = metricName(e.name, where);
    if (e.champion) {
      policy.champion.push({
        metric,
        op: e.op,
        championMetric: metricName(e.champion.metric, where),
        offset: e.champion.offset,
      });
    } else {
      if (where.startsWith('champion'))
        throw invalid(`${where}: a champion check compares with champion.METRIC`, { field: where });
      policy.metrics.push({ metric, op: e.op, value: e.value as number });
    }
  }

  if (raw.fairness !== undefined && raw.fairness !== null) {
    if (!isRecord(raw.fairness))
      throw invalid('fairness must map each sensitive column to its checks', { field: 'fairness' });
    for (const [column, checks] of Object.entries(raw.fairness)) {
      list(checks, `fairness.${column}`).forEach((v, i) => {
        const where = `fairness.${column}[${i}]`;
        if (
          v === 'four_fifths_rule' ||
          (isRecord(v) && v.measure === 'four_fifths_rule' && v.op === undefined)
        ) {
          policy.fairness.push({ column, measure: 'four_fifths_rule', op: '==', value: 1 });
          return;
        }
        const e = parseExpression(isRecord(v) ? objectCheck(v, 'measure', where) : v, where);
        if (!MEASURE_NAMES.includes(e.name))
          throw invalid(
            `${where}: '${e.name}' is not a fairness measure (known: ${MEASURE_NAMES.join(', ')})`,
            {
              field: where,
              measure: e.name,
              known: MEASURE_NAMES,
            },
          );
        if (e.champion) throw invalid(`${where}: fairness checks compare with a number`, { field: where });
        policy.fairness.push({
          column,
          measure: e.name as FairnessMeasure,
          op: e.op,
          value: e.value as number,
        });
      });
    }
  }

  if (raw.champion_alias !== undefined && raw.champion_alias !== null) {
    if (typeof raw.champion_alias !== 'string' || raw.champion_alias === '')
      throw invalid('champion_alias must name an alias', { field: 'champion_alias' });
    policy.championAlias = raw.champion_alias;
  }
  for (const [key, field] of [
    ['training_data_validated', 'trainingDataValidated'],
    ['schema_compatible', 'schemaCompatible'],
  ] as const) {
    const v = raw[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'boolean') throw invalid(`${key} must be true or false`, { field: key });
    policy[field] = v;
  }
  return policy;
}

/** The policy written back as the YAML form above (for `gates show` and the card). */
export function describeCheck(c: MetricCheck | ChampionCheck | FairnessCheck): string {
  if ('measure' in c)
    return c.measure === 'four_fifths_rule'
      ? `${c.column}: four_fifths_rule`
      : `${c.column}: ${c.measure} ${c.op} ${c.value}`;
  if ('championMetric' in c) {
    const off = c.offset === 0 ? '' : c.offset < 0 ? ` - ${-c.offset}` : ` + ${c.offset}`;
    return `${c.metric} ${c.op} champion.${c.championMetric}${off}`;
  }
  return `${c.metric} ${c.op} ${c.value}`;
}

export function compare(value: number, op: Comparison, threshold: number): boolean {
  switch (op) {
    case '>=':
      return value >= threshold;
    case '<=':
      return value <= threshold;
    case '>':
      return value > threshold;
    case '<':
      return value < threshold;
    case '==':
      return value === threshold;
    case '!=':
      return value !== threshold;
  }
}
