// The boosting loop: bins the data once, then per round computes gradients, grows one tree per
// output on histograms (workers building them when the data is large enough), updates the raw
// scores of training and validation rows, records losses and stops early when asked.
import { FalajError } from '../../core/errors.js';
import type { Column, Frame, Target, TrainingData } from '../frame.js';
import { Random } from '../random.js';
import { applyBinning, type BinnedData, fitBinning } from './binning.js';
import { TreeGrower } from './grower.js';
import { HIST_STRIDE, type HistogramData } from './histogram.js';
import { HistogramPool } from './histogram-pool.js';
import { GbdtModel } from './model.js';
import { makeObjective } from './objectives.js';
import { type GbdtObjective, type GbdtOptions, resolveParams, resolveThreads } from './params.js';
import type { GbdtFeature, GbdtState } from './state.js';
import type { Tree } from './tree.js';

export interface GbdtTrainOptions extends GbdtOptions {
  /** Scored every round (history.validLoss) and used by early stopping. */
  validation?: TrainingData;
}

/** Histogram memory cap: beyond it, pending leaves give up their histograms (see grower). */
const MAX_HIST_BYTES = 256 * 1024 * 1024;

function dataError(message: string, details: unknown): FalajError {
  return new FalajError('FALAJ_DATA_INVALID', message, details);
}

function columnLength(c: Column): number {
  return c.kind === 'numeric' ? c.values.length : c.codes.length;
}

/** Rejects what training cannot use, naming the column or row. */
function checkData(data: TrainingData, what: string): void {
  const { features, target, weights } = data;
  const n = features.nRows;
  if (!Number.isInteger(n) || n <= 0) throw dataError(`the ${what} frame has no rows`, { rows: n });
  if (features.columns.length === 0) throw dataError(`the ${what} frame has no feature columns`, {});
  const names = new Set<string>();
  for (const c of features.columns) {
    if (names.has(c.name))
      throw dataError(`column '${c.name}' appears twice in the ${what} frame`, { column: c.name });
    names.add(c.name);
    if (columnLength(c) !== n) {
      throw dataError(`column '${c.name}' has ${columnLength(c)} values for ${n} rows`, { column: c.name });
    }
  }
  if (target.kind === 'classification') {
    if (target.labels.length !== n)
      throw dataError(`target '${target.name}' has ${target.labels.length} labels for ${n} rows`, {
        column: target.name,
      });
    const k = target.classes.length;
    for (let i = 0; i < n; i++) {
      const y = target.labels[i] as number;
      if (!(y >= 0 && y < k)) {
        throw dataError(`target '${target.name}' row ${i} has no valid class (label ${y})`, {
          column: target.name,
          row: i,
        });
      }
    }
  } else {
    if (target.values.length !== n)
      throw dataError(`target '${target.name}' has ${target.values.length} values for ${n} rows`, {
        column: target.name,
      });
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(target.values[i])) {
        throw dataError(`target '${target.name}' row ${i} is not a finite number (${target.values[i]})`, {
          column: target.name,
          row: i,
        });
      }
    }
  }
  if (weights) {
    if (weights.length !== n)
      throw dataError(`weights have ${weights.length} values for ${n} rows`, { rows: n });
    let total = 0;
    for (let i = 0; i < n; i++) {
      const w = weights[i] as number;
      if (!(w >= 0 && Number.isFinite(w)))
        throw dataError(`weight of row ${i} is ${w}; weights must be finite and >= 0`, { row: i });
      total += w;
    }
    if (!(total > 0)) throw dataError(`the ${what} weights sum to zero`, {});
  }
}

function checkClasses(target: Target): void {
  if (target.kind !== 'classification') return;
  const seen = new Set<number>();
  for (const y of target.labels) {
    seen.add(y);
    if (seen.size > 1) return;
  }
  throw dataError(
    `target '${target.name}' holds a single class ('${target.classes[target.labels[0] as number]}')`,
    {
      column: target.name,
    },
  );
}

/** The validation frame's columns in training order (by name and kind). */
function alignValidation(train: Frame, valid: TrainingData, target: Target): TrainingData {
  const byName = new Map(valid.features.columns.map((c) => [c.name, c]));
  const columns = train.columns.map((c) => {
    const v = byName.get(c.name);
    if (!v) throw dataError(`the validation frame has no column '${c.name}'`, { column: c.name });
    if (v.kind !== c.kind)
      throw dataError(`validation column '${c.name}' is ${v.kind}, training has ${c.kind}`, {
        column: c.name,
      });
    return v;
  });
  const vt = valid.target;
  if (vt.kind !== target.kind)
    throw dataError('the validation target is of another kind', { column: vt.name });
  let tgt: Target = vt;
  if (vt.kind === 'classification' && target.kind === 'classification') {
    // Match classes by name so that label k means the same class on both sides.
    const index = new Map(target.classes.map((c, i) => [c, i]));
    const map = vt.classes.map((c) => index.get(c) ?? -1);
    const labels = new Int32Array(vt.labels.length);
    for (let i = 0; i < labels.length; i++) {
      const y = map[vt.labels[i] as number] ?? -1;
      if (y < 0) throw dataError(`validation target row ${i} has a class unknown to training`, { row: i });
      labels[i] = y;
    }
    tgt = { ...vt, classes: target.classes, labels };
  }
  const out: TrainingData = { features: { nRows: valid.features.nRows, columns }, target: tgt };
  return valid.weights ? { ...out, weights: valid.weights } : out;
}

function defaultObjective(target: Target): GbdtObjective {
  if (target.kind === 'regression') return 'squared_error';
  return target.classes.length === 2 ? 'binary' : 'multiclass';
}

/** Features that can split at all: at least two value bins, or one plus missing rows. */
function usableFeatures(b: BinnedData): Int32Array {
  const out: number[] = [];
  b.binnings.forEach((bin, f) => {
    const values = bin.nBins - 1;
    if (values >= 2) out.push(f);
    else if (values === 1) {
      const col = b.bins.subarray(f * b.nRows, (f + 1) * b.nRows);
      if (col.includes(1)) out.push(f);
    }
  });
  return Int32Array.from(out);
}

function shared(bytes: number): SharedArrayBuffer {
  return new SharedArrayBuffer(bytes);
}

/** Trains a gradient-boosted trees model. Rejects bad data (FALAJ_DATA_INVALID) and options (FALAJ_INVALID_ARGUMENT). */
export async function trainGbdt(data: TrainingData, options: GbdtTrainOptions = {}): Promise<GbdtModel> {
  const fit = prepare(data, options, true);
  const pool = await HistogramPool.create(fit.hd, fit.nThreads, fit.binnings.length);
  try {
    return boost(fit, pool);
  } finally {
    await pool.close();
  }
}

/** The same fit on the calling thread only (no workers), for callers that cannot await. */
export function trainGbdtSync(data: TrainingData, options: GbdtTrainOptions = {}): GbdtModel {
  const fit = prepare(data, options, false);
  return boost(fit, HistogramPool.serial(fit.hd, fit.binnings.length));
}

type Fit = ReturnType<typeof prepare>;

function prepare(data: TrainingData, options: GbdtTrainOptions, allowThreads: boolean) {
  const started = performance.now();
  checkData(data, 'training');
  const { features: frame, target, weights } = data;
  const p = resolveParams(options, defaultObjective(target));
  if (target.kind === 'classification') {
    if (target.classes.length < 2)
      throw dataError(`target '${target.name}' needs at least two classes`, { column: target.name });
    const want = target.classes.length === 2 ? 'binary' : 'multiclass';
    if (p.objective !== want) {
      throw new FalajError(
        'FALAJ_INVALID_ARGUMENT',
        `gbdt parameter 'objective' must be ${want} for ${target.classes.length} classes`,
        {
          parameter: 'objective',
        },
      );
    }
  } else if (p.objective === 'binary' || p.objective === 'multiclass') {
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      `gbdt parameter 'objective' ${p.objective} needs a classification target`,
      {
        parameter: 'objective',
      },
    );
  }
  checkClasses(target);
  // Validated either way, so a bad nThreads is reported by the synchronous fit too.
  const threads = resolveThreads(options, frame.nRows);
  const nThreads = allowThreads ? threads : 1;
  const valid = options.validation ? alignValidation(frame, options.validation, target) : undefined;
  if (valid) checkData(valid, 'validation');
  if (p.earlyStoppingRounds > 0 && !valid) {
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      "gbdt parameter 'earlyStoppingRounds' needs a validation set",
      {
        parameter: 'earlyStoppingRounds',
      },
    );
  }

  const binnings = fitBinning(frame, p.maxBins, p.seed);
  const binned = applyBinning(frame, binnings, true);
  const binningSeconds = (performance.now() - started) / 1000;
  const n = frame.nRows;
  const objective = makeObjective(p.objective, target, weights, p.huberDelta);
  const K = objective.nOutputs;
  const base = objective.initScores();
  const raw = new Float64Array(n * K);
  for (let k = 0; k < K; k++) raw.fill(base[k] as number, k * n, (k + 1) * n);

  const slotSize = binned.totalBins * HIST_STRIDE;
  const nSlots = Math.max(3, Math.min(p.maxLeaves + 1, Math.floor(MAX_HIST_BYTES / (slotSize * 8))));
  const hd: HistogramData = {
    nRows: n,
    bins: binned.bins,
    binOffsets: binned.binOffsets,
    rowIndex: new Uint32Array(shared(n * 4)),
    grad: new Float64Array(shared(n * K * 8)),
    hess: new Float64Array(shared(n * K * 8)),
    orderedGrad: new Float64Array(shared(n * 8)),
    orderedHess: new Float64Array(shared(n * 8)),
    hist: new Float64Array(shared(nSlots * slotSize * 8)),
    slotSize,
  };
  const usable = usableFeatures(binned);

  let vBinned: BinnedData | undefined;
  let vRaw: Float64Array | undefined;
  let vObjective: ReturnType<typeof makeObjective> | undefined;
  if (valid) {
    vBinned = applyBinning(valid.features, binnings, false);
    vObjective = makeObjective(p.objective, valid.target, valid.weights, p.huberDelta);
    const nv = valid.features.nRows;
    vRaw = new Float64Array(nv * K);
    for (let k = 0; k < K; k++) vRaw.fill(base[k] as number, k * nv, (k + 1) * nv);
  }

  return {
    p,
    n,
    K,
    base,
    raw,
    hd,
    binned,
    binnings,
    usable,
    nSlots,
    objective,
    valid,
    vBinned,
    vRaw,
    vObjective,
    nThreads,
    started,
    binningSeconds,
    frame,
    target,
    options,
  };
}

function boost(fit: Fit, pool: HistogramPool): GbdtModel {
  const {
    p,
    n,
    K,
    base,
    raw,
    hd,
    binned,
    usable,
    nSlots,
    objective,
    vBinned,
    vRaw,
    vObjective,
    target,
    options,
  } = fit;
  const grower = new TreeGrower(binned, hd, pool, p, nSlots);
  const rng = new Random(p.seed);
  const trees: Tree[] = [];
  const trainLoss: number[] = [];
  const validLoss: number[] = [];
  let bestLoss = vObjective && vRaw ? vObjective.loss(vRaw) : Number.POSITIVE_INFINITY;
  let bestRounds = 0;
  let rounds = 0;
  const inBag = new Uint8Array(n);
  const sample = new Uint32Array(n);
  objective.gradients(raw, hd.grad, hd.hess);
  for (let round = 0; round < p.nRounds; round++) {
    let m = n;
    if (p.subsample < 1) {
      m = 0;
      for (let i = 0; i < n; i++) {
        const take = rng.next() < p.subsample;
        inBag[i] = take ? 1 : 0;
        if (take) sample[m++] = i;
      }
      if (m === 0) {
        // Tiny data and a tiny fraction: fall back to one row rather than an empty tree.
        sample[0] = rng.int(n);
        inBag[sample[0] as number] = 1;
        m = 1;
      }
    } else if (round === 0) {
      for (let i = 0; i < n; i++) sample[i] = i;
    }
    for (let k = 0; k < K; k++) {
      let features = usable;
      if (p.colsample < 1 && usable.length > 1) {
        const take = Math.max(1, Math.round(p.colsample * usable.length));
        const pick = rng.shuffle(usable.slice());
        features = pick.subarray(0, take).sort();
      }
      hd.rowIndex.set(sample.subarray(0, m));
      const refit = objective.refitLeaf
        ? (start: number, end: number) =>
            (objective.refitLeaf as NonNullable<typeof objective.refitLeaf>)(hd.rowIndex, start, end, raw)
        : undefined;
      const { tree, leaves } = grower.grow(m, k * n, m === n, features, refit);
      trees.push(tree);
      const off = k * n;
      for (const leaf of leaves) {
        const v = tree.value[leaf.node] as number;
        for (let j = leaf.start; j < leaf.end; j++) {
          const r = off + (hd.rowIndex[j] as number);
          raw[r] = (raw[r] as number) + v;
        }
      }
      if (m < n) {
        for (let i = 0; i < n; i++) {
          if (inBag[i] === 0) raw[off + i] = (raw[off + i] as number) + tree.predictBinned(binned.bins, n, i);
        }
      }
      if (vBinned && vRaw) {
        const nv = vBinned.nRows;
        for (let i = 0; i < nv; i++) {
          vRaw[k * nv + i] = (vRaw[k * nv + i] as number) + tree.predictBinned(vBinned.bins, nv, i);
        }
      }
    }
    rounds = round + 1;
    // The next round's gradients come with this round's loss: one pass over the rows.
    const tl = objective.gradients(raw, hd.grad, hd.hess);
    const vl = vObjective && vRaw ? vObjective.loss(vRaw) : Number.NaN;
    trainLoss.push(tl);
    validLoss.push(vl);
    let stop = false;
    if (vObjective) {
      if (vl < bestLoss - p.tolerance) {
        bestLoss = vl;
        bestRounds = rounds;
      } else if (p.earlyStoppingRounds > 0 && rounds - bestRounds >= p.earlyStoppingRounds) {
        stop = true;
      }
    }
    if (options.onRound && options.onRound(rounds, { trainLoss: tl, validLoss: vl }) === 'stop') stop = true;
    if (stop) break;
  }
  const kept = p.earlyStoppingRounds > 0 ? bestRounds : rounds;
  const model = new GbdtModelBuilder(binned, target, p.objective, objective.link, base, p).build(
    trees.slice(0, kept * K),
    kept,
    trainLoss,
    validLoss,
  );
  model.fitStats = {
    threads: pool.threads,
    seconds: (performance.now() - fit.started) / 1000,
    binningSeconds: fit.binningSeconds,
    histogramUpdates: pool.updates,
    histogramSeconds: pool.seconds,
  };
  return model;
}

class GbdtModelBuilder {
  constructor(
    private readonly binned: BinnedData,
    private readonly target: Target,
    private readonly objective: GbdtObjective,
    private readonly link: GbdtState['link'],
    private readonly base: Float64Array,
    private readonly params: ReturnType<typeof resolveParams>,
  ) {}

  build(trees: Tree[], nRounds: number, trainLoss: number[], validLoss: number[]): GbdtModel {
    const nodeOffset = new Int32Array(trees.length + 1);
    trees.forEach((t, i) => {
      nodeOffset[i + 1] = (nodeOffset[i] as number) + t.size;
    });
    const N = nodeOffset[trees.length] as number;
    const feature = new Int32Array(N);
    const threshold = new Float64Array(N);
    const missingLeft = new Uint8Array(N);
    const catStart = new Int32Array(N);
    const catCount = new Int32Array(N);
    const left = new Int32Array(N);
    const right = new Int32Array(N);
    const value = new Float64Array(N);
    const gain = new Float64Array(N);
    const cover = new Float64Array(N);
    const count = new Int32Array(N);
    const cats: number[] = [];
    trees.forEach((t, ti) => {
      const o = nodeOffset[ti] as number;
      for (let i = 0; i < t.size; i++) {
        feature[o + i] = t.feature[i] as number;
        threshold[o + i] = t.threshold[i] as number;
        missingLeft[o + i] = t.missingLeft[i] ? 1 : 0;
        left[o + i] = t.left[i] as number;
        right[o + i] = t.right[i] as number;
        value[o + i] = t.value[i] as number;
        gain[o + i] = t.gain[i] as number;
        cover[o + i] = t.cover[i] as number;
        count[o + i] = t.count[i] as number;
        const set = t.categoriesLeft[i];
        catStart[o + i] = set ? cats.length : -1;
        catCount[o + i] = set ? set.length : 0;
        if (set) for (const c of set) cats.push(c);
      }
    });
    const features: GbdtFeature[] = this.binned.binnings.map((b) =>
      b.kind === 'numeric'
        ? { name: b.name, kind: 'numeric' }
        : { name: b.name, kind: 'categorical', categories: [...b.categories] },
    );
    const t = this.target;
    const state: GbdtState = {
      format: 'falaj-gbdt',
      version: 1,
      task: t.kind === 'regression' ? 'regression' : t.classes.length === 2 ? 'binary' : 'multiclass',
      objective: this.objective,
      link: this.link,
      classes: t.kind === 'classification' ? [...t.classes] : [],
      features,
      nOutputs: this.base.length,
      baseScore: [...this.base],
      nRounds,
      params: { ...this.params },
      history: { trainLoss, validLoss },
      trees: {
        nodeOffset,
        feature,
        threshold,
        missingLeft,
        catStart,
        catCount,
        left,
        right,
        value,
        gain,
        cover,
        count,
        categories: Int32Array.from(cats),
      },
    };
    return GbdtModel.fromState(state);
  }
}
