// The fitted preprocessing of a linear model as plain data. It maps one-to-one onto ONNX
// nodes: per numeric column an Imputer (missing → mean) then a Scaler (offset = mean,
// scale = 1 / scale), per categorical column a OneHotEncoder over `levels`; the outputs are
// concatenated in `columns` order (a numeric column gives one design column, a categorical
// column one per level).
import { FalajError } from '../../core/errors.js';

export interface NumericTransform {
  readonly kind: 'numeric';
  readonly name: string;
  /** Weighted mean of the non-missing training values; also the imputed value. */
  readonly mean: number;
  /** Weighted population standard deviation (1 for a constant or empty column). */
  readonly scale: number;
}

export interface CategoricalTransform {
  readonly kind: 'categorical';
  readonly name: string;
  /** Training levels, sorted; one 0/1 design column each. Unseen or missing → all zeros. */
  readonly levels: readonly string[];
}

export type ColumnTransform = NumericTransform | CategoricalTransform;

export interface PreprocessState {
  readonly columns: readonly ColumnTransform[];
}

/** The number of design-matrix columns the state produces. */
export function designWidth(state: PreprocessState): number {
  let p = 0;
  for (const c of state.columns) p += c.kind === 'numeric' ? 1 : c.levels.length;
  return p;
}

/** A readable name for each design column: the column name, or `name=level` for one-hot. */
export function designNames(state: PreprocessState): string[] {
  const names: string[] = [];
  for (const c of state.columns) {
    if (c.kind === 'numeric') names.push(c.name);
    else for (const l of c.levels) names.push(`${c.name}=${l}`);
  }
  return names;
}

function invalid(message: string, details: Record<string, unknown>): FalajError {
  return new FalajError('FALAJ_MODEL_INVALID', message, details);
}

/** Checks that `x` is a well-formed PreprocessState (from a model file) and returns it typed. */
export function parsePreprocessState(x: unknown): PreprocessState {
  if (typeof x !== 'object' || x === null || !Array.isArray((x as { columns?: unknown }).columns)) {
    throw invalid('preprocessing state: expected an object with a columns array', {
      field: 'preprocess.columns',
    });
  }
  const seen = new Set<string>();
  const columns: ColumnTransform[] = [];
  for (const [i, c] of (x as { columns: unknown[] }).columns.entries()) {
    const field = `preprocess.columns[${i}]`;
    if (typeof c !== 'object' || c === null) throw invalid(`${field} is not an object`, { field });
    const col = c as Record<string, unknown>;
    if (typeof col.name !== 'string' || col.name === '')
      throw invalid(`${field}.name is not a non-empty string`, { field });
    if (seen.has(col.name))
      throw invalid(`${field}: column '${col.name}' appears twice`, { field, column: col.name });
    seen.add(col.name);
    if (col.kind === 'numeric') {
      if (typeof col.mean !== 'number' || !Number.isFinite(col.mean)) {
        throw invalid(`${field}.mean of column '${col.name}' is not a finite number`, {
          field,
          column: col.name,
        });
      }
      if (typeof col.scale !== 'number' || !(col.scale > 0) || !Number.isFinite(col.scale)) {
        throw invalid(`${field}.scale of column '${col.name}' is not a positive number`, {
          field,
          column: col.name,
        });
      }
      columns.push({ kind: 'numeric', name: col.name, mean: col.mean, scale: col.scale });
    } else if (col.kind === 'categorical') {
      const levels = col.levels;
      if (
        !Array.isArray(levels) ||
        levels.some((l) => typeof l !== 'string') ||
        new Set(levels).size !== levels.length
      ) {
        throw invalid(`${field}.levels of column '${col.name}' is not a list of distinct strings`, {
          field,
          column: col.name,
        });
      }
      columns.push({ kind: 'categorical', name: col.name, levels: [...(levels as string[])] });
    } else {
      throw invalid(`${field}.kind must be 'numeric' or 'categorical'`, { field, column: col.name });
    }
  }
  return { columns };
}
