// A fitted linear model: preprocessing + coefficients, usable as a Predictor on raw frames.
import type { Predictor, Task } from '../estimator.js';
import { type Frame, takeRows } from '../frame.js';
import { encode } from '../preprocess/index.js';
import { type Convergence, type LinearModelState, parseLinearState } from './state.js';

function clone(state: LinearModelState): LinearModelState {
  return JSON.parse(JSON.stringify(state)) as LinearModelState;
}

export class LinearModel implements Predictor {
  readonly task: Task;
  readonly classes: readonly string[];
  readonly featureNames: readonly string[];
  private readonly s: LinearModelState;

  private constructor(state: LinearModelState) {
    this.s = state;
    this.task = state.task;
    this.classes = state.classes;
    this.featureNames = state.preprocess.columns.map((c) => c.name);
  }

  /** Wraps a state produced by the trainer (trusted, not re-validated). */
  static fromTrainedState(state: LinearModelState): LinearModel {
    return new LinearModel(state);
  }

  /** Rebuilds a model from a stored state; anything malformed is FALAJ_MODEL_INVALID. */
  static fromState(state: unknown): LinearModel {
    return new LinearModel(parseLinearState(state));
  }

  /** A deep copy of the serialisable state (plain JSON data). */
  state(): LinearModelState {
    return clone(this.s);
  }

  get convergence(): Convergence {
    return this.s.convergence;
  }

  /**
   * The same model on the raw (unstandardised) numeric inputs, for reading effects in the
   * data's units: coefficient / scale per numeric column, and the intercept absorbing
   * −coefficient·mean / scale. One-hot coefficients are unchanged. Missing-value imputation
   * is not representable here; use predict for that.
   */
  originalCoefficients(): { coefficients: number[][]; intercepts: number[] } {
    const coefficients: number[][] = [];
    const intercepts: number[] = [];
    for (let k = 0; k < this.s.coefficients.length; k++) {
      const row = this.s.coefficients[k] as readonly number[];
      const out: number[] = [];
      let b = this.s.intercepts[k] as number;
      let j = 0;
      for (const c of this.s.preprocess.columns) {
        if (c.kind === 'numeric') {
          const beta = (row[j] as number) / c.scale;
          out.push(beta);
          b -= beta * c.mean;
          j++;
        } else {
          for (let l = 0; l < c.levels.length; l++) out.push(row[j++] as number);
        }
      }
      coefficients.push(out);
      intercepts.push(b);
    }
    return { coefficients, intercepts };
  }

  predict(frame: Frame): Float64Array {
    const n = frame.nRows;
    const width = this.task === 'regression' ? 1 : this.classes.length;
    if (n === 0) return this.scores(frame);
    const out = new Float64Array(n * width);
    // Encode in blocks so prediction on millions of rows never holds the whole design.
    const block = 65_536;
    for (let start = 0; start < n; start += block) {
      const end = Math.min(n, start + block);
      const rows = new Int32Array(end - start);
      for (let i = 0; i < rows.length; i++) rows[i] = start + i;
      const part = start === 0 && end === n ? frame : takeRows(frame, rows);
      out.set(this.scores(part), start * width);
    }
    return out;
  }

  private scores(frame: Frame): Float64Array {
    const e = encode(this.s.preprocess, frame);
    const n = e.nRows;
    const q = e.numericPositions.length;
    const m = e.categoricalCount;
    const rows = this.s.coefficients;
    const k = rows.length;
    const z = new Float64Array(k);
    const width = this.task === 'regression' ? 1 : this.classes.length;
    const out = new Float64Array(n * width);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < k; c++) {
        const beta = rows[c] as readonly number[];
        let s = this.s.intercepts[c] as number;
        for (let j = 0; j < q; j++)
          s += (beta[e.numericPositions[j] as number] as number) * (e.numeric[i * q + j] as number);
        for (let j = 0; j < m; j++) {
          const a = e.active[i * m + j] as number;
          if (a >= 0) s += beta[a] as number;
        }
        z[c] = s;
      }
      if (this.task === 'regression') {
        out[i] = z[0] as number;
      } else if (this.task === 'binary') {
        const p1 = 1 / (1 + Math.exp(-(z[0] as number)));
        out[i * 2] = 1 - p1;
        out[i * 2 + 1] = p1;
      } else {
        let zMax = Number.NEGATIVE_INFINITY;
        for (let c = 0; c < k; c++) if ((z[c] as number) > zMax) zMax = z[c] as number;
        let sum = 0;
        for (let c = 0; c < k; c++) {
          const ez = Math.exp((z[c] as number) - zMax);
          out[i * k + c] = ez;
          sum += ez;
        }
        for (let c = 0; c < k; c++) out[i * k + c] = (out[i * k + c] as number) / sum;
      }
    }
    return out;
  }
}
