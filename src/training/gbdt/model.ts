// A fitted GBDT model: the Predictor the rest of Falaj sees. Prediction runs on flat typed
// arrays with absolute node indices, rows copied a block at a time into a row-major buffer
// so that one row's features sit together while every tree walks them.
import { FalajError } from '../../core/errors.js';
import type { Predictor, Task } from '../estimator.js';
import type { Frame } from '../frame.js';
import { type BlockScorer, compileEnsemble } from './compiled.js';
import { type GbdtState, validateState } from './state.js';

const BLOCK = 256;

export type ImportanceType = 'gain' | 'split';

/** Where a fit spent its time (not part of the state: it differs between identical fits). */
export interface GbdtFitStats {
  readonly threads: number;
  readonly seconds: number;
  readonly binningSeconds: number;
  /** Row×feature histogram updates and the wall seconds spent on them. */
  readonly histogramUpdates: number;
  readonly histogramSeconds: number;
}

export class GbdtModel implements Predictor {
  readonly task: Task;
  readonly classes: readonly string[];
  readonly featureNames: readonly string[];
  private readonly nFeatures: number;
  private readonly nOutputs: number;
  private readonly nTrees: number;
  /** Per tree: absolute root node index. */
  private readonly roots: Int32Array;
  /** Per node (absolute): feature (-1 leaf), threshold, missing direction, children, value. */
  private readonly feat: Int32Array;
  private readonly thr: Float64Array;
  private readonly missLeft: Uint8Array;
  private readonly lo: Int32Array;
  private readonly hi: Int32Array;
  private readonly val: Float64Array;
  /** Categorical nodes: first word of their category bitset in `bits`, -1 for numeric nodes. */
  private readonly bitStart: Int32Array;
  private readonly bits: Uint32Array;
  private readonly hasCategorical: boolean;
  /** Generated scorer (compiled.ts), built on first use; null when the walker must be used. */
  private compiled: BlockScorer | null | undefined = undefined;
  /** Set by the trainer on the model it returns; undefined for models rebuilt from a state. */
  fitStats: GbdtFitStats | undefined = undefined;

  private constructor(private readonly state: GbdtState) {
    this.task = state.task;
    this.classes = [...state.classes];
    this.featureNames = state.features.map((f) => f.name);
    this.nFeatures = state.features.length;
    this.nOutputs = state.nOutputs;
    const t = state.trees;
    this.nTrees = t.nodeOffset.length - 1;
    this.roots = t.nodeOffset.slice(0, this.nTrees);
    const n = t.feature.length;
    this.feat = t.feature.slice();
    this.thr = t.threshold.slice();
    this.missLeft = t.missingLeft.slice();
    this.val = t.value.slice();
    this.lo = new Int32Array(n);
    this.hi = new Int32Array(n);
    this.bitStart = new Int32Array(n).fill(-1);
    const words: number[] = [];
    let hasCat = false;
    for (let tr = 0; tr < this.nTrees; tr++) {
      const a = t.nodeOffset[tr] as number;
      const z = t.nodeOffset[tr + 1] as number;
      for (let i = a; i < z; i++) {
        const f = t.feature[i] as number;
        this.lo[i] = f < 0 ? -1 : a + (t.left[i] as number);
        this.hi[i] = f < 0 ? -1 : a + (t.right[i] as number);
        const feature = f >= 0 ? state.features[f] : undefined;
        if (feature?.kind === 'categorical') {
          hasCat = true;
          this.bitStart[i] = words.length;
          const nWords = Math.ceil(feature.categories.length / 32);
          const start = words.length;
          for (let w = 0; w < nWords; w++) words.push(0);
          const cs = t.catStart[i] as number;
          for (let k = cs; k < cs + (t.catCount[i] as number); k++) {
            const c = t.categories[k] as number;
            words[start + (c >>> 5)] = ((words[start + (c >>> 5)] as number) | (1 << (c & 31))) >>> 0;
          }
        }
      }
    }
    this.bits = Uint32Array.from(words);
    this.hasCategorical = hasCat;
  }

  /** Rebuilds a model from `toState()` output (or a decoded model file), validating all of it. */
  static fromState(state: unknown): GbdtModel {
    return new GbdtModel(validateState(state));
  }

  /** The serialisable state (documented in state.ts); arrays are copies. */
  toState(): GbdtState {
    const s = this.state;
    const t = s.trees;
    return {
      ...s,
      classes: [...s.classes],
      features: s.features.map((f) =>
        f.kind === 'numeric' ? { ...f } : { ...f, categories: [...f.categories] },
      ),
      baseScore: [...s.baseScore],
      params: { ...s.params },
      history: { trainLoss: [...s.history.trainLoss], validLoss: [...s.history.validLoss] },
      trees: {
        nodeOffset: t.nodeOffset.slice(),
        feature: t.feature.slice(),
        threshold: t.threshold.slice(),
        missingLeft: t.missingLeft.slice(),
        catStart: t.catStart.slice(),
        catCount: t.catCount.slice(),
        left: t.left.slice(),
        right: t.right.slice(),
        value: t.value.slice(),
        gain: t.gain.slice(),
        cover: t.cover.slice(),
        count: t.count.slice(),
        categories: t.categories.slice(),
      },
    };
  }

  /** Boosting rounds in the model (the best iteration when early stopping was on). */
  get nRounds(): number {
    return this.state.nRounds;
  }

  /** Per-round training and validation loss of the fit (validation NaN without a validation set). */
  get history(): { readonly trainLoss: readonly number[]; readonly validLoss: readonly number[] } {
    return this.state.history;
  }

  /**
   * Importance per feature, aligned with featureNames: total split gain, or number of splits.
   */
  featureImportance(type: ImportanceType = 'gain'): Float64Array {
    if (type !== 'gain' && type !== 'split') {
      throw new FalajError(
        'FALAJ_INVALID_ARGUMENT',
        `importance type must be 'gain' or 'split' (got ${String(type)})`,
        {
          parameter: 'type',
        },
      );
    }
    const out = new Float64Array(this.nFeatures);
    const t = this.state.trees;
    for (let i = 0; i < t.feature.length; i++) {
      const f = t.feature[i] as number;
      if (f >= 0) out[f] = (out[f] as number) + (type === 'gain' ? (t.gain[i] as number) : 1);
    }
    return out;
  }

  /**
   * Columns of `frame` in model order as doubles: numbers as they are, categorical levels as
   * the model's category index matched by name (levels the model never saw become NaN, i.e.
   * missing). Extra columns are ignored; a missing column or one of the wrong kind is an error.
   */
  private columnsOf(frame: Frame): Float64Array[] {
    const byName = new Map(frame.columns.map((c) => [c.name, c]));
    return this.state.features.map((f) => {
      const col = byName.get(f.name);
      if (!col) {
        throw new FalajError(
          'FALAJ_MODEL_INVALID',
          `the frame has no column '${f.name}' which the model needs`,
          {
            column: f.name,
          },
        );
      }
      if (col.kind !== f.kind) {
        throw new FalajError(
          'FALAJ_MODEL_INVALID',
          `column '${f.name}' is ${col.kind} but the model was trained on it as ${f.kind}`,
          { column: f.name, expected: f.kind, actual: col.kind },
        );
      }
      const len = col.kind === 'numeric' ? col.values.length : col.codes.length;
      if (len !== frame.nRows) {
        throw new FalajError(
          'FALAJ_DATA_INVALID',
          `column '${f.name}' has ${len} values for ${frame.nRows} rows`,
          {
            column: f.name,
          },
        );
      }
      if (col.kind === 'numeric') return col.values;
      const categories = (f as { categories: readonly string[] }).categories;
      const index = new Map(categories.map((c, i) => [c, i]));
      const remap = col.levels.map((l) => index.get(l) ?? Number.NaN);
      const out = new Float64Array(frame.nRows);
      for (let i = 0; i < frame.nRows; i++) {
        const c = col.codes[i] as number;
        out[i] = c >= 0 && c < remap.length ? (remap[c] as number) : Number.NaN;
      }
      return out;
    });
  }

  /** Raw scores (before the link), row-major nRows × nOutputs. `walk` forces the array walker. */
  predictRaw(frame: Frame, walk = false): Float64Array {
    const cols = this.columnsOf(frame);
    const n = frame.nRows;
    const K = this.nOutputs;
    const F = this.nFeatures;
    const out = new Float64Array(n * K);
    const base = this.state.baseScore;
    for (let i = 0; i < n; i++) for (let k = 0; k < K; k++) out[i * K + k] = base[k] as number;
    const block = new Float64Array(BLOCK * F);
    for (let r0 = 0; r0 < n; r0 += BLOCK) {
      const m = Math.min(BLOCK, n - r0);
      for (let f = 0; f < F; f++) {
        const c = cols[f] as Float64Array;
        for (let i = 0; i < m; i++) block[i * F + f] = c[r0 + i] as number;
      }
      if (this.compiled === undefined && !walk) this.compiled = compileEnsemble(this.state);
      if (this.compiled && !walk) this.compiled(block, m, out, r0);
      else if (this.hasCategorical) this.scoreBlockMixed(block, m, out, r0);
      else this.scoreBlockNumeric(block, m, out, r0);
    }
    return out;
  }

  private scoreBlockNumeric(x: Float64Array, m: number, out: Float64Array, r0: number): void {
    const { feat, thr, missLeft, lo, hi, val, roots, nTrees, nFeatures: F, nOutputs: K } = this;
    for (let t = 0; t < nTrees; t++) {
      const root = roots[t] as number;
      const k = t % K;
      for (let i = 0; i < m; i++) {
        const rowBase = i * F;
        let node = root;
        let f = feat[node] as number;
        while (f >= 0) {
          const v = x[rowBase + f] as number;
          // NaN fails both comparisons; only then does the stored direction decide.
          node =
            v <= (thr[node] as number)
              ? (lo[node] as number)
              : v > (thr[node] as number)
                ? (hi[node] as number)
                : missLeft[node] === 1
                  ? (lo[node] as number)
                  : (hi[node] as number);
          f = feat[node] as number;
        }
        const o = (r0 + i) * K + k;
        out[o] = (out[o] as number) + (val[node] as number);
      }
    }
  }

  private scoreBlockMixed(x: Float64Array, m: number, out: Float64Array, r0: number): void {
    const {
      feat,
      thr,
      missLeft,
      lo,
      hi,
      val,
      roots,
      nTrees,
      nFeatures: F,
      nOutputs: K,
      bitStart,
      bits,
    } = this;
    for (let t = 0; t < nTrees; t++) {
      const root = roots[t] as number;
      const k = t % K;
      for (let i = 0; i < m; i++) {
        const rowBase = i * F;
        let node = root;
        let f = feat[node] as number;
        while (f >= 0) {
          const v = x[rowBase + f] as number;
          let left: boolean;
          if (Number.isNaN(v)) left = missLeft[node] === 1;
          else {
            const bs = bitStart[node] as number;
            if (bs < 0) left = v <= (thr[node] as number);
            else left = (((bits[bs + (v >>> 5)] as number) >>> (v & 31)) & 1) === 1;
          }
          node = left ? (lo[node] as number) : (hi[node] as number);
          f = feat[node] as number;
        }
        const o = (r0 + i) * K + k;
        out[o] = (out[o] as number) + (val[node] as number);
      }
    }
  }

  /** Class probabilities (nRows × classes) or regression values (nRows × 1), row-major. */
  predict(frame: Frame): Float64Array {
    const raw = this.predictRaw(frame);
    const n = frame.nRows;
    const link = this.state.link;
    if (link === 'identity') return raw;
    if (link === 'logistic') {
      const out = new Float64Array(n * 2);
      for (let i = 0; i < n; i++) {
        const p = 1 / (1 + Math.exp(-(raw[i] as number)));
        out[2 * i] = 1 - p;
        out[2 * i + 1] = p;
      }
      return out;
    }
    const K = this.nOutputs;
    for (let i = 0; i < n; i++) {
      let max = Number.NEGATIVE_INFINITY;
      for (let k = 0; k < K; k++) max = Math.max(max, raw[i * K + k] as number);
      let s = 0;
      for (let k = 0; k < K; k++) {
        const e = Math.exp((raw[i * K + k] as number) - max);
        raw[i * K + k] = e;
        s += e;
      }
      for (let k = 0; k < K; k++) raw[i * K + k] = (raw[i * K + k] as number) / s;
    }
    return raw;
  }
}
