// Bin edges and bin counts for the binned drift measures (PSI, Jensen–Shannon, L∞ on numbers).
// Counts are defined through "how many values lie below an edge", which a sorted array answers
// by binary search and SQL answers with count_if(v < e): both paths bin identically.

/** How numeric values are binned: Evidently's rule, or 10 bins of the reference (equal width or quantiles). */
export type Binning = 'evidently' | 'equal-width' | 'quantile';

/**
 * `closed`: numpy's histogram — bins [eᵢ, eᵢ₊₁), the last one closed, values outside dropped.
 * `open`: the first and last bins extend to −∞ and +∞, so current values outside the
 * reference range still land in a bin.
 */
export type EdgeMode = 'closed' | 'open';

export interface BinEdges {
  edges: number[];
  mode: EdgeMode;
}

/**
 * numpy's `histogram_bin_edges(x, bins='sturges')` over the pooled reference and current data:
 * width = (max − min)/(log₂ n + 1), bin count = ceil((max − min)/width), edges = linspace.
 * The float steps are numpy's own, so the bin count matches it even where rounding bites.
 */
export function sturgesEdges(min: number, max: number, count: number): BinEdges {
  let lo = min;
  let hi = max;
  let bins = 1;
  if (lo === hi) {
    lo -= 0.5;
    hi += 0.5;
  } else {
    const width = (max - min) / (Math.log2(count) + 1);
    bins = Math.max(1, Math.ceil((hi - lo) / width));
  }
  return { edges: linspace(lo, hi, bins + 1), mode: 'closed' };
}

/** numpy's linspace: start + i·step, the last edge set to stop exactly. */
export function linspace(start: number, stop: number, num: number): number[] {
  const step = (stop - start) / (num - 1);
  const out: number[] = [];
  for (let i = 0; i < num; i++) out.push(i * step + start);
  out[num - 1] = stop;
  return out;
}

/** `bins` equal-width bins over the reference range, open at both ends. */
export function equalWidthEdges(refMin: number, refMax: number, bins: number): BinEdges {
  if (refMin === refMax) return { edges: [refMin - 0.5, refMax + 0.5], mode: 'open' };
  return { edges: linspace(refMin, refMax, bins + 1), mode: 'open' };
}

/**
 * The positions (0-based order statistics and interpolation weight) of numpy's default
 * ('linear') quantiles i/bins, i = 1..bins−1, of a sorted sample of size n.
 */
export function quantilePositions(n: number, bins: number): { lo: number; hi: number; frac: number }[] {
  const out: { lo: number; hi: number; frac: number }[] = [];
  for (let i = 1; i < bins; i++) {
    const h = ((n - 1) * i) / bins;
    const lo = Math.floor(h);
    out.push({ lo, hi: Math.min(lo + 1, n - 1), frac: h - lo });
  }
  return out;
}

/**
 * Interior edges at the reference quantiles i/bins (numpy 'linear'), duplicates dropped (ties
 * would make empty bins of zero width), with open outer bins: `bins` bins of equal reference mass.
 */
export function quantileEdgesFromOrderStats(
  positions: readonly { lo: number; hi: number; frac: number }[],
  orderStat: (index: number) => number,
): BinEdges {
  const interior: number[] = [];
  for (const p of positions) {
    const a = orderStat(p.lo);
    const b = orderStat(p.hi);
    const q = a + p.frac * (b - a);
    if (interior.length === 0 || q > (interior[interior.length - 1] as number)) interior.push(q);
  }
  return { edges: [Number.NEGATIVE_INFINITY, ...interior, Number.POSITIVE_INFINITY], mode: 'open' };
}

/** The count thresholds SQL needs: for edge i, whether to count values < eᵢ (all) or ≤ eᵢ (numpy's closed last edge). */
export function countsFromBelow(below: readonly number[], total: number, binning: BinEdges): number[] {
  // below[i] = #(v < eᵢ) for i < last, and for the last edge #(v ≤ e_last) in closed mode.
  const k = binning.edges.length - 1;
  const out: number[] = [];
  for (let i = 0; i < k; i++) {
    const start = binning.mode === 'open' && i === 0 ? 0 : (below[i] as number);
    const end = binning.mode === 'open' && i === k - 1 ? total : (below[i + 1] as number);
    out.push(end - start);
  }
  return out;
}

/** #(v < x) in a sorted array (or #(v ≤ x) when `inclusive`). */
function rank(sorted: Float64Array, x: number, inclusive: boolean): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const v = sorted[mid] as number;
    if (v < x || (inclusive && v === x)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Bin counts of a sorted sample. */
export function binCounts(sorted: Float64Array, binning: BinEdges): number[] {
  const k = binning.edges.length - 1;
  const below = binning.edges.map((e, i) => rank(sorted, e, binning.mode === 'closed' && i === k));
  return countsFromBelow(below, sorted.length, binning);
}
