// Fairness metrics from per-group confusion counts. Both paths (in memory, DuckDB) reduce the
// data to these counts; everything here is arithmetic on them, so the paths cannot disagree.
import { FalajError } from '../core/errors.js';
import type {
  FairnessOptions,
  FairnessReport,
  GroupCounts,
  GroupMetrics,
  GroupValue,
  RateSummary,
} from './fairness-types.js';
import { compareKeys } from './values.js';

const ratio = (a: number, b: number): number | null => (b === 0 ? null : a / b);

function rates(c: GroupCounts): RateSummary {
  const n = c.truePositives + c.falsePositives + c.trueNegatives + c.falseNegatives;
  return {
    selectionRate: (c.truePositives + c.falsePositives) / n,
    truePositiveRate: ratio(c.truePositives, c.truePositives + c.falseNegatives),
    falsePositiveRate: ratio(c.falsePositives, c.falsePositives + c.trueNegatives),
    precision: ratio(c.truePositives, c.truePositives + c.falsePositives),
  };
}

export function groupName(group: Record<string, GroupValue>): string {
  return Object.entries(group)
    .map(([k, v]) => `${k}=${v === null ? 'null' : String(v)}`)
    .join(', ');
}

function compareGroups(a: GroupCounts, b: GroupCounts): number {
  const av = Object.values(a.group);
  const bv = Object.values(b.group);
  for (let i = 0; i < av.length; i++) {
    const x = av[i] as GroupValue;
    const y = bv[i] as GroupValue;
    if (x === y) continue;
    if (x === null) return 1;
    if (y === null) return -1;
    const c = compareKeys(x, y);
    if (c !== 0) return c;
  }
  return 0;
}

function sumCounts(groups: readonly GroupCounts[]): GroupCounts {
  const t: GroupCounts = {
    group: {},
    truePositives: 0,
    falsePositives: 0,
    trueNegatives: 0,
    falseNegatives: 0,
  };
  for (const g of groups) {
    t.truePositives += g.truePositives;
    t.falsePositives += g.falsePositives;
    t.trueNegatives += g.trueNegatives;
    t.falseNegatives += g.falseNegatives;
  }
  return t;
}

/** max − min and min / max over the defined values (null when none is defined, or max = 0 for the ratio). */
function spread(values: (number | null)[]): { diff: number | null; ratio: number | null } {
  const defined = values.filter((v): v is number => v !== null);
  if (defined.length === 0) return { diff: null, ratio: null };
  const max = Math.max(...defined);
  const min = Math.min(...defined);
  return { diff: max - min, ratio: max === 0 ? null : min / max };
}

const sub = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : a - b);

/**
 * Theil index (AIF360's generalised entropy index, α = 1) from counts: bᵢ = ŷᵢ − yᵢ + 1 is 0 for
 * a false negative, 2 for a false positive and 1 otherwise; T = (1/n) Σ (bᵢ/μ) ln(bᵢ/μ), 0·ln 0 = 0.
 */
export function theilFromCounts(c: GroupCounts): number {
  const n = c.truePositives + c.falsePositives + c.trueNegatives + c.falseNegatives;
  const ones = c.truePositives + c.trueNegatives;
  const mu = (ones + 2 * c.falsePositives) / n;
  if (mu === 0) return 0;
  let t = 0;
  if (ones > 0) t += ones * (1 / mu) * Math.log(1 / mu);
  if (c.falsePositives > 0) t += c.falsePositives * (2 / mu) * Math.log(2 / mu);
  return t / n;
}

/** The report from per-group counts (groups keyed by the sensitive columns' values). */
export function fairnessFromCounts(
  counts: readonly GroupCounts[],
  columns: { label: string; prediction: string; sensitive: readonly string[] },
  options: FairnessOptions = {},
): FairnessReport {
  const minGroupSize = options.minGroupSize ?? 30;
  const sorted = [...counts].sort(compareGroups);
  const total = sumCounts(sorted);
  const rows = total.truePositives + total.falsePositives + total.trueNegatives + total.falseNegatives;
  if (rows === 0) throw new FalajError('FALAJ_DATA_INVALID', 'fairness needs at least one row', {});
  const withRates = sorted.map((g) => ({ g, r: rates(g) }));
  const highest = Math.max(...withRates.map((x) => x.r.selectionRate));

  let privileged = withRates[0] as (typeof withRates)[number];
  let chosenBy: 'option' | 'highest-selection-rate' = 'highest-selection-rate';
  if (options.privilegedGroup !== undefined) {
    const wanted = options.privilegedGroup;
    const found = withRates.find((x) => columns.sensitive.every((c) => x.g.group[c] === (wanted[c] ?? null)));
    if (found === undefined) {
      throw new FalajError(
        'FALAJ_INVALID_ARGUMENT',
        `privileged group ${groupName({ ...wanted })} has no rows`,
        {
          privilegedGroup: wanted,
        },
      );
    }
    privileged = found;
    chosenBy = 'option';
  } else {
    for (const x of withRates) if (x.r.selectionRate > privileged.r.selectionRate) privileged = x;
  }
  const p = privileged.r;

  const groups: GroupMetrics[] = withRates.map(({ g, r }) => {
    const n = g.truePositives + g.falsePositives + g.trueNegatives + g.falseNegatives;
    const isPrivileged = g === privileged.g;
    return {
      ...g,
      name: groupName(g.group),
      count: n,
      labelPositives: g.truePositives + g.falseNegatives,
      predictedPositives: g.truePositives + g.falsePositives,
      ...r,
      small: n < minGroupSize,
      impactRatio: ratio(r.selectionRate, highest),
      disparateImpact: isPrivileged ? null : ratio(r.selectionRate, p.selectionRate),
      statisticalParityDifference: isPrivileged ? null : r.selectionRate - p.selectionRate,
      equalOpportunityDifference: isPrivileged ? null : sub(r.truePositiveRate, p.truePositiveRate),
      averageOddsDifference: isPrivileged ? null : averageOdds(r, p),
    };
  });

  const sr = spread(groups.map((g) => g.selectionRate));
  const tpr = spread(groups.map((g) => g.truePositiveRate));
  const fpr = spread(groups.map((g) => g.falsePositiveRate));
  const unprivileged = rates(sumCounts(sorted.filter((g) => g !== privileged.g)));
  const hasUnprivileged = sorted.length > 1;

  const mu = (total.truePositives + total.trueNegatives + 2 * total.falsePositives) / rows;
  let between = 0;
  for (const g of groups) {
    const mug = (g.truePositives + g.trueNegatives + 2 * g.falsePositives) / g.count;
    if (mug > 0) between += g.count * (mug / mu) * Math.log(mug / mu);
  }

  const failing = groups.filter((g) => g.impactRatio !== null && g.impactRatio < 0.8).map((g) => g.name);
  return {
    labelColumn: columns.label,
    predictionColumn: columns.prediction,
    sensitiveColumns: [...columns.sensitive],
    positiveLabel: options.positiveLabel ?? 1,
    negativeLabel: options.negativeLabel ?? 0,
    rows,
    minGroupSize,
    overall: rates(total),
    groups,
    smallGroups: groups.filter((g) => g.small).map((g) => g.name),
    fairlearn: {
      demographicParityDifference: sr.diff as number,
      demographicParityRatio: sr.ratio,
      equalizedOddsDifference: tpr.diff === null || fpr.diff === null ? null : Math.max(tpr.diff, fpr.diff),
      equalizedOddsRatio: tpr.ratio === null || fpr.ratio === null ? null : Math.min(tpr.ratio, fpr.ratio),
      equalOpportunityDifference: tpr.diff,
      equalOpportunityRatio: tpr.ratio,
    },
    aif360: {
      privilegedGroup: groupName(privileged.g.group),
      privilegedGroupChosenBy: chosenBy,
      disparateImpact: hasUnprivileged ? ratio(unprivileged.selectionRate, p.selectionRate) : null,
      statisticalParityDifference: hasUnprivileged ? unprivileged.selectionRate - p.selectionRate : 0,
      equalOpportunityDifference: hasUnprivileged
        ? sub(unprivileged.truePositiveRate, p.truePositiveRate)
        : null,
      averageOddsDifference: hasUnprivileged ? averageOdds(unprivileged, p) : null,
      theilIndex: theilFromCounts(total),
      betweenGroupTheilIndex: mu === 0 ? 0 : between / rows,
    },
    fourFifthsRule: { passed: failing.length === 0, highestSelectionRate: highest, failingGroups: failing },
  };
}

/** ½[(FPR_u − FPR_p) + (TPR_u − TPR_p)]. */
function averageOdds(u: RateSummary, p: RateSummary): number | null {
  const f = sub(u.falsePositiveRate, p.falsePositiveRate);
  const t = sub(u.truePositiveRate, p.truePositiveRate);
  return f === null || t === null ? null : (f + t) / 2;
}
