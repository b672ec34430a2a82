// Quantile binning of the training frame: every feature becomes small integer bins so that
// histograms have a fixed, small width. Numeric bins keep their upper edge in raw value space
// (an actual training value) so that a split learned on bins is an exact `x <= threshold` test
// on raw values. Categorical codes map to bins directly; when a feature has more seen levels
// than value bins, the most frequent keep their own bin and the rest share one "other" bin.
// The last bin of every feature holds its missing values.
import { FalajError } from '../../core/errors.js';
import type { Frame } from '../frame.js';
import { Random } from '../random.js';

/** Rows sampled to place numeric quantile edges; more would barely move them. */
const QUANTILE_SAMPLE = 200_000;

export interface NumericBinning {
  readonly kind: 'numeric';
  readonly name: string;
  /** Upper edge of each value bin: bin b holds (edges[b-1], edges[b]]; the last edge is the training max. */
  readonly edges: Float64Array;
  /** Value bins + 1 (the missing bin is the last). */
  readonly nBins: number;
}

export interface CategoricalBinning {
  readonly kind: 'categorical';
  readonly name: string;
  /** Levels seen in training (at least one row), in the frame's code order; category index = position. */
  readonly categories: readonly string[];
  /** Bin of each category index. */
  readonly categoryBin: Int32Array;
  /** Category indices in each value bin (one each, except the shared "other" bin). */
  readonly binCategories: readonly Int32Array[];
  readonly nBins: number;
}

export type FeatureBinning = NumericBinning | CategoricalBinning;

export type BinArray = Uint8Array | Uint16Array;

export interface BinnedData {
  readonly nRows: number;
  readonly binnings: readonly FeatureBinning[];
  /** Column-major bins: bins[f * nRows + row]. */
  readonly bins: BinArray;
  /** Start of each feature in a histogram, in bins. */
  readonly binOffsets: Int32Array;
  readonly totalBins: number;
}

function sampleRows(n: number, rng: Random): Int32Array {
  if (n <= QUANTILE_SAMPLE) {
    const all = new Int32Array(n);
    for (let i = 0; i < n; i++) all[i] = i;
    return all;
  }
  // Partial Fisher-Yates: the first QUANTILE_SAMPLE slots become a uniform sample without replacement.
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  for (let i = 0; i < QUANTILE_SAMPLE; i++) {
    const j = i + rng.int(n - i);
    const t = idx[i] as number;
    idx[i] = idx[j] as number;
    idx[j] = t;
  }
  return idx.subarray(0, QUANTILE_SAMPLE).sort();
}

function numericEdges(values: Float64Array, sample: Int32Array, maxBins: number): Float64Array {
  const s = new Float64Array(sample.length);
  let m = 0;
  for (let i = 0; i < sample.length; i++) {
    const v = values[sample[i] as number] as number;
    if (!Number.isNaN(v)) s[m++] = v;
  }
  const sorted = s.subarray(0, m).sort();
  let max = Number.NEGATIVE_INFINITY;
  let any = false;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isNaN(v)) {
      any = true;
      if (v > max) max = v;
    }
  }
  if (!any) return new Float64Array(0);
  // Only whether there are at most maxBins distinct values matters: stop counting past that.
  const distinct: number[] = [];
  for (let i = 0; i < m && distinct.length <= maxBins; i++) {
    const v = sorted[i] as number;
    if (distinct.length === 0 || v !== distinct[distinct.length - 1]) distinct.push(v);
  }
  let edges: number[];
  if (distinct.length <= maxBins) {
    edges = distinct;
  } else {
    edges = [];
    for (let k = 1; k < maxBins; k++) {
      const v = sorted[Math.floor((k * m) / maxBins)] as number;
      if (edges.length === 0 || v > (edges[edges.length - 1] as number)) edges.push(v);
    }
  }
  // The last edge is the training max so that every edge is a training value and every value fits.
  if (edges.length === 0 || (edges[edges.length - 1] as number) < max) edges.push(max);
  if (edges.length > maxBins) {
    edges.splice(edges.length - 2, 1);
  }
  return Float64Array.from(edges);
}

/**
 * The edges padded with +Infinity to a power of two, for `binOf`'s fixed-step search: a
 * comparison's result is added to the index rather than branched on, so that a value costs
 * log2(size) steps whatever its bin, with no mispredicted branches (5-6x faster than a
 * binary search on random data).
 */
export function paddedEdges(edges: Float64Array): Float64Array {
  let size = 1;
  while (size < edges.length) size *= 2;
  const padded = new Float64Array(size).fill(Number.POSITIVE_INFINITY);
  padded.set(edges);
  return padded;
}

/** numericBin over paddedEdges(edges): the same bin for every non-NaN x. */
export function binOf(padded: Float64Array, nEdges: number, x: number): number {
  let i = 0;
  for (let half = padded.length >>> 1; half > 0; half >>>= 1)
    i += +(x > (padded[i + half - 1] as number)) * half;
  i += +(x > (padded[i] as number));
  // Above the training max (possible outside training): the last bin, as numericBin says.
  return i < nEdges ? i : nEdges - 1;
}

/** The value bin of `x` (NaN excluded): the first edge >= x, the last bin for values above the max. */
export function numericBin(edges: Float64Array, x: number): number {
  let lo = 0;
  let hi = edges.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x <= (edges[mid] as number)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function categoricalBinning(
  name: string,
  codes: Int32Array,
  levels: readonly string[],
  maxBins: number,
): CategoricalBinning {
  // Unweighted row counts: a level with rows is seen even where its weights are zero.
  const counts = new Float64Array(levels.length);
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i] as number;
    if (c < 0) continue;
    if (c >= levels.length) {
      throw new FalajError(
        'FALAJ_DATA_INVALID',
        `categorical column '${name}' row ${i} has code ${c} outside its ${levels.length} levels`,
        { column: name, row: i },
      );
    }
    counts[c] = (counts[c] as number) + 1;
  }
  const seen: number[] = [];
  for (let c = 0; c < levels.length; c++) if ((counts[c] as number) > 0) seen.push(c);
  const categories = seen.map((c) => levels[c] as string);
  const categoryBin = new Int32Array(seen.length);
  let binCategories: Int32Array[];
  if (seen.length <= maxBins) {
    binCategories = seen.map((_, i) => Int32Array.of(i));
    for (let i = 0; i < seen.length; i++) categoryBin[i] = i;
  } else {
    // Too many levels for the bins: the maxBins-1 most frequent (ties: lower code) keep a bin,
    // the rest share the last value bin ("other"), which splits like any other bin.
    const byCount = seen
      .map((_, i) => i)
      .sort((a, b) => {
        const d = (counts[seen[b] as number] as number) - (counts[seen[a] as number] as number);
        return d !== 0 ? d : a - b;
      });
    const kept = byCount.slice(0, maxBins - 1).sort((a, b) => a - b);
    const other = kept.length;
    categoryBin.fill(other);
    binCategories = kept.map((cat, bin) => {
      categoryBin[cat] = bin;
      return Int32Array.of(cat);
    });
    const rest: number[] = [];
    for (let i = 0; i < seen.length; i++) if (categoryBin[i] === other) rest.push(i);
    binCategories.push(Int32Array.from(rest));
  }
  return {
    kind: 'categorical',
    name,
    categories,
    categoryBin,
    binCategories,
    nBins: binCategories.length + 1,
  };
}

/** Learns the bins of every feature of the training frame. */
export function fitBinning(frame: Frame, maxBins: number, seed: number): FeatureBinning[] {
  const sample = sampleRows(frame.nRows, new Random(seed ^ 0x5bd1e995));
  return frame.columns.map((col): FeatureBinning => {
    if (col.kind === 'numeric') {
      const edges = numericEdges(col.values, sample, maxBins);
      return { kind: 'numeric', name: col.name, edges, nBins: edges.length + 1 };
    }
    return categoricalBinning(col.name, col.codes, col.levels, maxBins);
  });
}

/**
 * Maps a frame's categorical codes onto a binning's category indices by level name; levels
 * the binning never saw become -1 (missing).
 */
export function categoryRemap(
  b: CategoricalBinning | { categories: readonly string[] },
  levels: readonly string[],
) {
  const index = new Map<string, number>();
  b.categories.forEach((c, i) => {
    index.set(c, i);
  });
  const remap = new Int32Array(levels.length);
  for (let i = 0; i < levels.length; i++) remap[i] = index.get(levels[i] as string) ?? -1;
  return remap;
}

/** Bins a frame (training or validation) whose columns are in the binnings' order. */
export function applyBinning(frame: Frame, binnings: readonly FeatureBinning[], shared: boolean): BinnedData {
  const n = frame.nRows;
  const binOffsets = new Int32Array(binnings.length + 1);
  let wide = false;
  binnings.forEach((b, f) => {
    binOffsets[f + 1] = (binOffsets[f] as number) + b.nBins;
    if (b.nBins > 256) wide = true;
  });
  const bytes = wide ? 2 : 1;
  const buffer = shared
    ? new SharedArrayBuffer(n * binnings.length * bytes)
    : new ArrayBuffer(n * binnings.length * bytes);
  const bins: BinArray = wide ? new Uint16Array(buffer) : new Uint8Array(buffer);
  binnings.forEach((b, f) => {
    const col = frame.columns[f];
    const out = bins.subarray(f * n, (f + 1) * n);
    const missing = b.nBins - 1;
    if (b.kind === 'numeric') {
      if (col?.kind !== 'numeric') throw new Error(`column ${f} is not numeric`);
      const values = col.values;
      const nEdges = b.edges.length;
      const padded = paddedEdges(b.edges);
      for (let i = 0; i < n; i++) {
        const v = values[i] as number;
        out[i] = Number.isNaN(v) ? missing : binOf(padded, nEdges, v);
      }
    } else {
      if (col?.kind !== 'categorical') throw new Error(`column ${f} is not categorical`);
      const remap = categoryRemap(b, col.levels);
      const codes = col.codes;
      for (let i = 0; i < n; i++) {
        const c = codes[i] as number;
        const cat = c >= 0 && c < remap.length ? (remap[c] as number) : -1;
        out[i] = cat >= 0 ? (b.categoryBin[cat] as number) : missing;
      }
    }
  });
  return { nRows: n, binnings, bins, binOffsets, totalBins: binOffsets[binnings.length] as number };
}
