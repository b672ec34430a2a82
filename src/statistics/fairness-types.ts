// The fairness report: plain JSON, undefined rates as null (never NaN), the same from the
// in-memory and DuckDB paths.
import type { CategoryKey } from './values.js';

export type GroupValue = CategoryKey | null;

export interface FairnessOptions {
  /** The favourable outcome in both the label and the prediction (default 1; true matches 1). */
  positiveLabel?: CategoryKey;
  /** The other outcome (default 0). Any other value in either column is an error. */
  negativeLabel?: CategoryKey;
  /** Groups with fewer rows are flagged `small` (not merged, not dropped). Default 30. */
  minGroupSize?: number;
  /**
   * The privileged group for AIF360's comparisons, as sensitive column → value. Default: the
   * group with the highest selection rate (ties: the first in sorted order).
   */
  privilegedGroup?: Readonly<Record<string, GroupValue>>;
}

/** Confusion counts of one group (label y, prediction ŷ, positive = the favourable outcome). */
export interface GroupCounts {
  group: Record<string, GroupValue>;
  truePositives: number;
  falsePositives: number;
  trueNegatives: number;
  falseNegatives: number;
}

export interface GroupMetrics extends GroupCounts {
  /** "col=value, col=value". */
  name: string;
  count: number;
  labelPositives: number;
  predictedPositives: number;
  /** P(ŷ = 1 | group). */
  selectionRate: number;
  /** P(ŷ = 1 | y = 1, group); null without positive labels. */
  truePositiveRate: number | null;
  /** P(ŷ = 1 | y = 0, group); null without negative labels. */
  falsePositiveRate: number | null;
  /** P(y = 1 | ŷ = 1, group); null without positive predictions. */
  precision: number | null;
  small: boolean;
  /** selection rate / highest group selection rate (29 CFR 1607.4(D)); null when every rate is 0. */
  impactRatio: number | null;
  /** AIF360 measures of this group against the privileged group (null for the privileged group itself or when undefined). */
  disparateImpact: number | null;
  statisticalParityDifference: number | null;
  equalOpportunityDifference: number | null;
  averageOddsDifference: number | null;
}

export interface RateSummary {
  selectionRate: number;
  truePositiveRate: number | null;
  falsePositiveRate: number | null;
  precision: number | null;
}

export interface FairnessReport {
  labelColumn: string;
  predictionColumn: string;
  sensitiveColumns: string[];
  positiveLabel: CategoryKey;
  negativeLabel: CategoryKey;
  rows: number;
  minGroupSize: number;
  overall: RateSummary;
  groups: GroupMetrics[];
  smallGroups: string[];
  /** Fairlearn, method 'between_groups': differences max − min, ratios min / max over the groups where the rate is defined. */
  fairlearn: {
    demographicParityDifference: number;
    demographicParityRatio: number | null;
    equalizedOddsDifference: number | null;
    equalizedOddsRatio: number | null;
    equalOpportunityDifference: number | null;
    equalOpportunityRatio: number | null;
  };
  /** AIF360: the privileged group against all other rows pooled (unprivileged = the complement). */
  aif360: {
    privilegedGroup: string;
    privilegedGroupChosenBy: 'option' | 'highest-selection-rate';
    disparateImpact: number | null;
    statisticalParityDifference: number;
    equalOpportunityDifference: number | null;
    averageOddsDifference: number | null;
    /** Generalised entropy index with α = 1 over bᵢ = ŷᵢ − yᵢ + 1, all rows. */
    theilIndex: number;
    /** The same with each bᵢ replaced by its group's mean (between the groups reported here). */
    betweenGroupTheilIndex: number;
  };
  /** 29 CFR 1607.4(D): every group's selection rate at least 80% of the highest group's. */
  fourFifthsRule: { passed: boolean; highestSelectionRate: number; failingGroups: string[] };
}
