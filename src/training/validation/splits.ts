// Row splits for validation: hold-out, k-fold, stratified k-fold, group k-fold and
// time-ordered (expanding window) splits. Every split is a pair of row-index arrays in
// ascending order; the same arguments and seed give the same split.
import { FalajError } from '../../core/errors.js';
import type { Column } from '../frame.js';
import { Random } from '../random.js';

export interface Split {
  readonly train: Int32Array;
  readonly valid: Int32Array;
}

function bad(parameter: string, message: string, details: Record<string, unknown> = {}): FalajError {
  return new FalajError('FALAJ_INVALID_ARGUMENT', message, { parameter, ...details });
}

function checkK(k: number, nRows: number): void {
  if (!Number.isInteger(k) || k < 2) throw bad('k', `k must be an integer ≥ 2, got ${k}`, { value: k });
  if (k > nRows) throw bad('k', `cannot make ${k} folds of ${nRows} rows`, { value: k, rows: nRows });
}

function sorted(rows: number[]): Int32Array {
  return Int32Array.from(rows).sort();
}

/** Splits from a fold number per row: fold f validates on its rows and trains on the rest. */
function foldsFrom(assign: Int32Array, k: number): Split[] {
  const out: Split[] = [];
  for (let f = 0; f < k; f++) {
    const train: number[] = [];
    const valid: number[] = [];
    for (let i = 0; i < assign.length; i++) (assign[i] === f ? valid : train).push(i);
    out.push({ train: Int32Array.from(train), valid: Int32Array.from(valid) });
  }
  return out;
}

/**
 * A random hold-out of about `validFraction` of the rows (round(fraction × n), at least one
 * row on each side). With `stratify` (class labels), each class contributes its share,
 * rounded by largest remainder so the total is still round(fraction × n).
 */
export function holdoutSplit(options: {
  nRows: number;
  validFraction: number;
  seed: number;
  stratify?: Int32Array;
}): Split {
  const { nRows: n, validFraction: f, seed } = options;
  if (!(f > 0 && f < 1))
    throw bad('validFraction', `validFraction must be within (0, 1), got ${f}`, { value: f });
  const total = Math.min(n - 1, Math.max(1, Math.round(f * n)));
  if (n < 2) throw bad('validFraction', `a hold-out needs at least 2 rows, got ${n}`);
  const rng = new Random(seed);
  const strata = options.stratify ?? new Int32Array(n);
  if (strata.length !== n) throw bad('stratify', `stratify has ${strata.length} labels for ${n} rows`);
  const groups = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const s = strata[i] as number;
    let g = groups.get(s);
    if (g === undefined) {
      g = [];
      groups.set(s, g);
    }
    g.push(i);
  }
  const keys = [...groups.keys()].sort((a, b) => a - b);
  // Largest-remainder allocation of `total` validation rows over the strata.
  const quota = keys.map((key) => {
    const size = (groups.get(key) as number[]).length;
    const exact = (total * size) / n;
    return { key, take: Math.floor(exact), rest: exact - Math.floor(exact) };
  });
  let left = total - quota.reduce((s, q) => s + q.take, 0);
  const byRest = [...quota].sort((a, b) => b.rest - a.rest || a.key - b.key);
  for (const q of byRest) {
    if (left <= 0) break;
    q.take++;
    left--;
  }
  const valid: number[] = [];
  const train: number[] = [];
  for (const q of quota) {
    const rows = rng.shuffle([...(groups.get(q.key) as number[])]);
    rows.forEach((r, i) => {
      (i < q.take ? valid : train).push(r);
    });
  }
  return { train: sorted(train), valid: sorted(valid) };
}

/** Plain k-fold: rows shuffled with `seed` (unless shuffle is false), then dealt in k blocks. */
export function kFold(options: { nRows: number; k: number; seed: number; shuffle?: boolean }): Split[] {
  const { nRows: n, k } = options;
  checkK(k, n);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  if (options.shuffle !== false) new Random(options.seed).shuffle(order);
  const assign = new Int32Array(n);
  // Contiguous blocks whose sizes differ by at most one (the first n mod k get one more).
  const base = Math.floor(n / k);
  const extra = n % k;
  let pos = 0;
  for (let f = 0; f < k; f++) {
    const size = base + (f < extra ? 1 : 0);
    for (let j = 0; j < size; j++) assign[order[pos++] as number] = f;
  }
  return foldsFrom(assign, k);
}

/**
 * Stratified k-fold: each class's rows are shuffled with `seed`, the classes laid end to
 * end, and row j of that sequence goes to fold j mod k. So every fold holds ⌊c/k⌋ or ⌈c/k⌉
 * rows of a class of c rows, and fold sizes differ by at most one.
 */
export function stratifiedKFold(options: { labels: Int32Array; k: number; seed: number }): Split[] {
  const { labels, k } = options;
  const n = labels.length;
  checkK(k, n);
  const rng = new Random(options.seed);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const l = labels[i] as number;
    let g = byClass.get(l);
    if (g === undefined) {
      g = [];
      byClass.set(l, g);
    }
    g.push(i);
  }
  const assign = new Int32Array(n);
  let pos = 0;
  for (const key of [...byClass.keys()].sort((a, b) => a - b)) {
    for (const r of rng.shuffle(byClass.get(key) as number[])) assign[r] = pos++ % k;
  }
  return foldsFrom(assign, k);
}

/** Group keys per row from a column or a plain array; a missing group is an error. */
function groupKeys(groups: Column | ArrayLike<number | string>, what: string): (number | string)[] {
  if (typeof groups === 'object' && groups !== null && 'kind' in groups) {
    const col = groups as Column;
    if (col.kind === 'numeric') {
      return Array.from(col.values, (v, i) => {
        if (Number.isNaN(v))
          throw new FalajError('FALAJ_DATA_INVALID', `${what} '${col.name}' is missing at row ${i + 1}`, {
            column: col.name,
            row: i + 1,
          });
        return v;
      });
    }
    return Array.from(col.codes, (c, i) => {
      if (c < 0)
        throw new FalajError('FALAJ_DATA_INVALID', `${what} '${col.name}' is missing at row ${i + 1}`, {
          column: col.name,
          row: i + 1,
        });
      return c;
    });
  }
  const arr = groups as ArrayLike<number | string>;
  return Array.from({ length: arr.length }, (_, i) => {
    const v = arr[i];
    if (v === undefined || v === null || (typeof v === 'number' && Number.isNaN(v))) {
      throw new FalajError('FALAJ_DATA_INVALID', `${what} is missing at row ${i + 1}`, { row: i + 1 });
    }
    return v;
  });
}

/**
 * Group k-fold: all rows of a group land in the same fold, so no group is on both sides.
 * Groups are taken largest first (ties in a seeded random order, or first appearance
 * without a seed) and each goes to the fold with the fewest rows so far, as scikit-learn's
 * GroupKFold balances them.
 */
export function groupKFold(options: {
  groups: Column | ArrayLike<number | string>;
  k: number;
  seed?: number;
}): Split[] {
  const keys = groupKeys(options.groups, 'group column');
  const n = keys.length;
  const { k } = options;
  checkK(k, n);
  const index = new Map<number | string, number>();
  const sizes: number[] = [];
  const rowGroup = new Int32Array(n);
  keys.forEach((key, i) => {
    let g = index.get(key);
    if (g === undefined) {
      g = sizes.length;
      index.set(key, g);
      sizes.push(0);
    }
    sizes[g] = (sizes[g] as number) + 1;
    rowGroup[i] = g;
  });
  if (sizes.length < k) {
    throw bad('k', `cannot make ${k} group folds from ${sizes.length} groups`, {
      value: k,
      groups: sizes.length,
    });
  }
  const order = Array.from({ length: sizes.length }, (_, g) => g);
  if (options.seed !== undefined) new Random(options.seed).shuffle(order);
  const rank = new Int32Array(order.length);
  order.forEach((g, r) => {
    rank[g] = r;
  });
  const byLargest = [...order].sort(
    (a, b) => (sizes[b] as number) - (sizes[a] as number) || (rank[a] as number) - (rank[b] as number),
  );
  const foldSize = new Array<number>(k).fill(0);
  const groupFold = new Int32Array(sizes.length);
  for (const g of byLargest) {
    let best = 0;
    for (let f = 1; f < k; f++) if ((foldSize[f] as number) < (foldSize[best] as number)) best = f;
    groupFold[g] = best;
    foldSize[best] = (foldSize[best] as number) + (sizes[g] as number);
  }
  const assign = new Int32Array(n);
  for (let i = 0; i < n; i++) assign[i] = groupFold[rowGroup[i] as number] as number;
  return foldsFrom(assign, k);
}

/**
 * Time-ordered splits with an expanding window, as scikit-learn's TimeSeriesSplit: rows are
 * ordered by `order` (a column or values, NaN refused; row order when absent), the last
 * k blocks of `validSize` rows (default ⌊n/(k+1)⌋) are validated in turn, each after
 * training on every row before it minus `gap` rows. Block edges move forward past equal
 * order values, so a training row's time is always strictly before every validation row's.
 */
export function timeSeriesSplit(options: {
  nRows: number;
  k: number;
  order?: Column | ArrayLike<number>;
  gap?: number;
  validSize?: number;
  maxTrainSize?: number;
}): Split[] {
  const { nRows: n, k } = options;
  const gap = options.gap ?? 0;
  if (!Number.isInteger(k) || k < 2) throw bad('k', `k must be an integer ≥ 2, got ${k}`, { value: k });
  if (!Number.isInteger(gap) || gap < 0)
    throw bad('gap', `gap must be an integer ≥ 0, got ${gap}`, { value: gap });
  const validSize = options.validSize ?? Math.floor(n / (k + 1));
  if (!Number.isInteger(validSize) || validSize < 1) {
    throw bad('validSize', `validation blocks of ${validSize} rows are impossible (${n} rows, k = ${k})`, {
      value: validSize,
    });
  }
  if (n - k * validSize - gap < 1) {
    throw bad(
      'k',
      `${n} rows cannot hold ${k} validation blocks of ${validSize} rows after a gap of ${gap}`,
      {
        value: k,
        rows: n,
      },
    );
  }
  let key: Float64Array;
  let orderName = 'order';
  if (options.order === undefined) {
    key = Float64Array.from({ length: n }, (_, i) => i);
  } else if ('kind' in (options.order as object)) {
    const col = options.order as Column;
    orderName = col.name;
    if (col.kind !== 'numeric') {
      throw new FalajError(
        'FALAJ_DATA_INVALID',
        `order column '${col.name}' must be numeric (a time or sequence number)`,
        {
          column: col.name,
        },
      );
    }
    key = col.values;
  } else {
    key = Float64Array.from(options.order as ArrayLike<number>);
  }
  if (key.length !== n) throw bad('order', `order has ${key.length} values for ${n} rows`);
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(key[i])) {
      throw new FalajError('FALAJ_DATA_INVALID', `order column '${orderName}' is missing at row ${i + 1}`, {
        column: orderName,
        row: i + 1,
      });
    }
  }
  const sortedRows = Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => (key[a] as number) - (key[b] as number) || a - b,
  );
  const keyAt = (pos: number) => key[sortedRows[pos] as number] as number;
  // Moves a boundary forward until it does not fall between two equal order values.
  const edge = (pos: number): number => {
    let b = pos;
    while (b > 0 && b < n && keyAt(b) === keyAt(b - 1)) b++;
    return b;
  };
  const out: Split[] = [];
  for (let f = 0; f < k; f++) {
    const start = edge(n - (k - f) * validSize);
    const end = f === k - 1 ? n : edge(n - (k - f - 1) * validSize);
    const trainEnd = start - gap;
    const trainStart = options.maxTrainSize === undefined ? 0 : Math.max(0, trainEnd - options.maxTrainSize);
    if (end <= start || trainEnd <= trainStart) {
      throw new FalajError(
        'FALAJ_DATA_INVALID',
        `order column '${orderName}' has too few distinct values for ${k} time splits`,
        {
          column: orderName,
          k,
        },
      );
    }
    out.push({
      train: sorted(sortedRows.slice(trainStart, trainEnd)),
      valid: sorted(sortedRows.slice(start, end)),
    });
  }
  return out;
}
