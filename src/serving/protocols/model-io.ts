// The model-side shapes the inference protocol codecs (v2.ts, mlflow-scoring.ts) target: what a
// model takes (its signature), a parsed batch of rows in columns, and what a model answers.
// Pure data: no HTTP, no store. The serving runtime turns a ColumnBatch into its own frame.

/** The type of one model input column. Numbers, booleans (0/1) land in Float64Array. */
export type ColumnType = 'bool' | 'int32' | 'int64' | 'float' | 'double' | 'string';

export interface ColumnSpec {
  readonly name: string;
  readonly type: ColumnType;
  /** Missing values allowed (NaN in numeric columns, null in string columns); default false. */
  readonly missing?: boolean;
}

export interface OutputSpec {
  readonly name: string;
  readonly type: ColumnType;
  /** Shape with -1 for a variable dimension; default [-1]. */
  readonly shape?: readonly number[];
}

/** What a model takes and gives. `inputs` is in the model's column order. */
export interface ModelSignature {
  readonly inputs: readonly ColumnSpec[];
  readonly outputs: readonly OutputSpec[];
}

/** A numeric column (bool, ints, floats; NaN = missing) or a string column (null = missing). */
export type ColumnData = Float64Array | (string | null)[];

/** Rows in columns, keyed by the signature's input names, every column `rows` long. */
export interface ColumnBatch {
  readonly columns: Map<string, ColumnData>;
  readonly rows: number;
}

export type Label = string | number;

/** What a model answers for a batch. */
export type Prediction =
  | {
      readonly kind: 'classifier';
      /** The predicted class per row. */
      readonly labels: readonly Label[];
      /** rows × classes, in the order of `classes`. */
      readonly probabilities: readonly (readonly number[])[];
      readonly classes: readonly Label[];
    }
  | { readonly kind: 'regressor'; readonly values: ArrayLike<number> };

/** Bounds on one request, so a server can cap the memory a body costs. */
export interface BatchLimits {
  /** Most rows in one request. */
  readonly maxRows: number;
  /** Most cells (rows × columns, or tensor elements) in one request. */
  readonly maxCells: number;
}

export const DEFAULT_LIMITS: BatchLimits = { maxRows: 100_000, maxCells: 10_000_000 };

/** Whether a column type holds numbers (everything but strings). */
export function isNumericType(type: ColumnType): boolean {
  return type !== 'string';
}

/** The output specs of a classifier (predict + predict_proba) or a regressor (predict). */
export function defaultOutputs(
  task: 'classifier' | 'regressor',
  classes: readonly Label[] = [],
): OutputSpec[] {
  if (task === 'regressor') return [{ name: 'predict', type: 'double', shape: [-1] }];
  const labelType: ColumnType = classes.every((c) => typeof c === 'number') ? 'int64' : 'string';
  return [
    { name: 'predict', type: labelType, shape: [-1] },
    { name: 'predict_proba', type: 'double', shape: [-1, classes.length] },
  ];
}
