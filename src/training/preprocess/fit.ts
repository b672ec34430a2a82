// Fitting and applying the linear-model preprocessing: numeric columns are mean-imputed and
// standardised, categorical columns one-hot encoded, into a dense row-major design matrix.
import { FalajError } from '../../core/errors.js';
import type { Column, Frame } from '../frame.js';
import type { CategoricalTransform, ColumnTransform, NumericTransform, PreprocessState } from './state.js';

/**
 * Fits the transforms on training rows. Means and standard deviations are weighted by
 * `weights` (so a row of weight 2 counts as two copies) and use the finite values only (NaN
 * and ±Infinity are treated as missing, here and in transform);
 * a column with no spread gets scale 1 (its design column is then all zeros after centring),
 * and a column with no values at all gets mean 0.
 */
export function fitPreprocess(frame: Frame, weights?: Float64Array): PreprocessState {
  const columns: ColumnTransform[] = frame.columns.map((col): ColumnTransform => {
    if (col.kind === 'categorical') return { kind: 'categorical', name: col.name, levels: [...col.levels] };
    const v = col.values;
    let sw = 0;
    let sum = 0;
    for (let i = 0; i < frame.nRows; i++) {
      const x = v[i] as number;
      if (!Number.isFinite(x)) continue;
      const w = weights ? (weights[i] as number) : 1;
      sw += w;
      sum += w * x;
    }
    if (!(sw > 0)) return { kind: 'numeric', name: col.name, mean: 0, scale: 1 };
    const mean = sum / sw;
    let ss = 0;
    for (let i = 0; i < frame.nRows; i++) {
      const x = v[i] as number;
      if (!Number.isFinite(x)) continue;
      const w = weights ? (weights[i] as number) : 1;
      ss += w * (x - mean) * (x - mean);
    }
    const std = Math.sqrt(ss / sw);
    // Spread at the rounding level of the mean is numerical noise, not signal.
    const scale = std > 1e-12 * Math.max(1, Math.abs(mean)) && Number.isFinite(std) ? std : 1;
    return { kind: 'numeric', name: col.name, mean, scale };
  });
  return { columns };
}

function modelInvalid(message: string, column: string, extra: Record<string, unknown> = {}): FalajError {
  return new FalajError('FALAJ_MODEL_INVALID', message, { column, ...extra });
}

/** A numeric view of `col` for a column trained as numeric. */
function asNumeric(col: Column, n: number): Float64Array {
  if (col.kind === 'numeric') return col.values;
  // A categorical column whose levels are all numbers (for instance an all-empty CSV column
  // read as text) is accepted; anything else is a different column than the model saw.
  const levelValues = col.levels.map((l) => Number(l));
  const bad = col.levels.findIndex((l, i) => l.trim() === '' || !Number.isFinite(levelValues[i]));
  if (bad >= 0) {
    throw modelInvalid(
      `column '${col.name}' was numeric in training but holds text ('${col.levels[bad]}')`,
      col.name,
      {
        expected: 'numeric',
        actual: 'categorical',
      },
    );
  }
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const c = col.codes[i] as number;
    out[i] = c < 0 ? Number.NaN : (levelValues[c] as number);
  }
  return out;
}

/** Codes of `col` into the training `levels`, -1 for missing or unseen. */
function codesIn(col: Column, levels: readonly string[], n: number): Int32Array {
  const index = new Map<string, number>();
  for (const [i, l] of levels.entries()) index.set(l, i);
  const out = new Int32Array(n);
  if (col.kind === 'categorical') {
    const remap = col.levels.map((l) => index.get(l) ?? -1);
    for (let i = 0; i < n; i++) {
      const c = col.codes[i] as number;
      out[i] = c < 0 ? -1 : (remap[c] as number);
    }
    return out;
  }
  // Numbers where text levels were trained: match by their decimal spelling ("3" ↔ 3).
  for (let i = 0; i < n; i++) {
    const x = col.values[i] as number;
    out[i] = Number.isNaN(x) ? -1 : (index.get(String(x)) ?? -1);
  }
  return out;
}

/**
 * The design of `frame` in compact form: the standardised numeric columns densely, and per
 * categorical column the design index of the row's one-hot 1 (or -1 for none), so a linear
 * model never multiplies the zeros of a one-hot block.
 */
export interface EncodedDesign {
  readonly nRows: number;
  /** Total design width (designWidth of the state). */
  readonly width: number;
  /** Row-major nRows × numericPositions.length standardised values (missing → 0). */
  readonly numeric: Float64Array;
  /** Design index of each numeric column. */
  readonly numericPositions: Int32Array;
  /** Row-major nRows × categoricalCount design indices of the active indicator, -1 for none. */
  readonly active: Int32Array;
  readonly categoricalCount: number;
}

function lookup(state: PreprocessState, frame: Frame): Column[] {
  const byName = new Map<string, Column>();
  for (const c of frame.columns) byName.set(c.name, c);
  return state.columns.map((t) => {
    const col = byName.get(t.name);
    if (col === undefined) {
      throw modelInvalid(`the model needs column '${t.name}', which the data does not have`, t.name, {
        available: frame.columns.map((c) => c.name),
      });
    }
    return col;
  });
}

/**
 * Encodes `frame` for the model. Columns are found by name, extra columns are ignored, a
 * missing one is FALAJ_MODEL_INVALID naming it. Missing numeric values become the training
 * mean (0 after standardising); a missing or unseen categorical level gives all-zero
 * indicators.
 */
export function encode(state: PreprocessState, frame: Frame): EncodedDesign {
  const n = frame.nRows;
  const cols = lookup(state, frame);
  const numericIdx: number[] = [];
  const catIdx: number[] = [];
  const positions: number[] = [];
  const catOffsets: number[] = [];
  let offset = 0;
  state.columns.forEach((t, i) => {
    if (t.kind === 'numeric') {
      numericIdx.push(i);
      positions.push(offset);
      offset += 1;
    } else {
      catIdx.push(i);
      catOffsets.push(offset);
      offset += t.levels.length;
    }
  });
  const q = numericIdx.length;
  const m = catIdx.length;
  const numeric = new Float64Array(n * q);
  numericIdx.forEach((ci, j) => {
    const t = state.columns[ci] as NumericTransform;
    const v = asNumeric(cols[ci] as Column, n);
    const inv = 1 / t.scale;
    for (let i = 0; i < n; i++) {
      const xi = v[i] as number;
      numeric[i * q + j] = Number.isFinite(xi) ? (xi - t.mean) * inv : 0;
    }
  });
  const active = new Int32Array(n * m);
  catIdx.forEach((ci, j) => {
    const t = state.columns[ci] as CategoricalTransform;
    const codes = codesIn(cols[ci] as Column, t.levels, n);
    const base = catOffsets[j] as number;
    for (let i = 0; i < n; i++) {
      const c = codes[i] as number;
      active[i * m + j] = c < 0 ? -1 : base + c;
    }
  });
  return {
    nRows: n,
    width: offset,
    numeric,
    numericPositions: Int32Array.from(positions),
    active,
    categoricalCount: m,
  };
}

/**
 * The dense design matrix of `frame` (row-major, nRows × designWidth(state)): what the ONNX
 * preprocessing nodes compute. Same column rules as encode.
 */
export function transform(state: PreprocessState, frame: Frame): Float64Array {
  const e = encode(state, frame);
  const p = e.width;
  const q = e.numericPositions.length;
  const m = e.categoricalCount;
  const x = new Float64Array(e.nRows * p);
  for (let i = 0; i < e.nRows; i++) {
    for (let j = 0; j < q; j++) x[i * p + (e.numericPositions[j] as number)] = e.numeric[i * q + j] as number;
    for (let j = 0; j < m; j++) {
      const a = e.active[i * m + j] as number;
      if (a >= 0) x[i * p + a] = 1;
    }
  }
  return x;
}
