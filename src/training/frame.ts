// The columnar training frame every trainer, metric and exporter in src/training reads.
// Columns are typed arrays so that a million rows cost 8 bytes per numeric cell and the
// hot loops never touch JS objects. Missing values: NaN in numeric columns, -1 in codes.

/** A numeric (or boolean, as 0/1) feature; NaN marks a missing value. */
export interface NumericColumn {
  readonly kind: 'numeric';
  readonly name: string;
  readonly values: Float64Array;
}

/** A categorical feature as dense codes into `levels`; -1 marks a missing value. */
export interface CategoricalColumn {
  readonly kind: 'categorical';
  readonly name: string;
  readonly codes: Int32Array;
  readonly levels: readonly string[];
}

export type Column = NumericColumn | CategoricalColumn;

export interface Frame {
  readonly nRows: number;
  readonly columns: readonly Column[];
}

/** A classification target: class index per row into `classes` (sorted, at least two). */
export interface ClassTarget {
  readonly kind: 'classification';
  readonly name: string;
  readonly classes: readonly string[];
  readonly labels: Int32Array;
}

/** A regression target; every value is finite. */
export interface RegressionTarget {
  readonly kind: 'regression';
  readonly name: string;
  readonly values: Float64Array;
}

export type Target = ClassTarget | RegressionTarget;

/** What a trainer fits on: features, the target and optional per-row weights. */
export interface TrainingData {
  readonly features: Frame;
  readonly target: Target;
  readonly weights?: Float64Array;
}

/** A view of `frame` holding only the given rows, in that order (for folds and hold-outs). */
export function takeRows(frame: Frame, rows: Int32Array | readonly number[]): Frame {
  const n = rows.length;
  const columns = frame.columns.map((col): Column => {
    if (col.kind === 'numeric') {
      const values = new Float64Array(n);
      for (let i = 0; i < n; i++) values[i] = col.values[rows[i] as number] as number;
      return { kind: 'numeric', name: col.name, values };
    }
    const codes = new Int32Array(n);
    for (let i = 0; i < n; i++) codes[i] = col.codes[rows[i] as number] as number;
    return { kind: 'categorical', name: col.name, codes, levels: col.levels };
  });
  return { nRows: n, columns };
}

/** The same rows of a target. */
export function takeTarget(target: Target, rows: Int32Array | readonly number[]): Target {
  const n = rows.length;
  if (target.kind === 'classification') {
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) labels[i] = target.labels[rows[i] as number] as number;
    return { ...target, labels };
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = target.values[rows[i] as number] as number;
  return { ...target, values };
}

/** The same rows of a whole training set (weights included). */
export function takeData(data: TrainingData, rows: Int32Array | readonly number[]): TrainingData {
  const out: TrainingData = {
    features: takeRows(data.features, rows),
    target: takeTarget(data.target, rows),
  };
  if (!data.weights) return out;
  const w = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) w[i] = data.weights[rows[i] as number] as number;
  return { ...out, weights: w };
}
