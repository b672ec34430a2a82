// GBDT benchmark against scikit-learn's HistGradientBoostingClassifier (issue 4):
// make_classification(n_samples=1_000_000, n_features=28, n_informative=20, n_redundant=4,
// flip_y=0.05, class_sep=0.8), fit on the first 800,000 rows (100 rounds, 31 leaves, 255 bins,
// no early stopping) with 1 and 2 threads, AUC on the last 200,000, prediction rows/s,
// histogram-building rate and peak RSS against the raw float data.
//
//   npx tsx bench/gbdt.ts [--rows N] [--threads 1,2] [--rounds 100] [--data bench/out/make_classification_1m]
//
// If bench/gbdt_sklearn.py has written bench/out/make_classification_1m.f64 (row-major
// little-endian float64) and .labels.i32, that exact dataset is used instead of the generator.
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Frame, TrainingData } from '../src/training/frame.js';
import { trainGbdt } from '../src/training/gbdt/index.js';
import { Random } from '../src/training/random.js';

const N_FEATURES = 28;
const N_INFORMATIVE = 20;
const N_REDUNDANT = 4;
const FLIP_Y = 0.05;
const CLASS_SEP = 0.8;
const DEFAULT_DATA = path.join(import.meta.dirname, 'out', 'make_classification_1m');

interface Dataset {
  cols: Float64Array[];
  labels: Int32Array;
  source: string;
}

/**
 * scikit-learn's make_classification algorithm (two classes, two clusters per class): cluster
 * centroids on distinct hypercube vertices scaled to ±class_sep, gaussian points mixed by a
 * random matrix per cluster, redundant features as random linear combinations of the
 * informative ones, useless ones pure noise, labels flipped at rate flip_y, rows and columns
 * shuffled. Same algorithm, not the same random stream as numpy.
 */
function makeClassification(n: number, seed: number): Dataset {
  const rng = new Random(seed);
  const nClusters = 4;
  const centroids: number[][] = [];
  const seen = new Set<string>();
  while (centroids.length < nClusters) {
    const v = Array.from({ length: N_INFORMATIVE }, () => rng.int(2));
    const key = v.join('');
    if (seen.has(key)) continue;
    seen.add(key);
    centroids.push(v.map((b) => b * 2 * CLASS_SEP - CLASS_SEP));
  }
  const mix = centroids.map(() =>
    Array.from({ length: N_INFORMATIVE * N_INFORMATIVE }, () => 2 * rng.next() - 1),
  );
  const redundant = Array.from({ length: N_INFORMATIVE * N_REDUNDANT }, () => 2 * rng.next() - 1);
  const rowPerm = rng.shuffle(Int32Array.from({ length: n }, (_, i) => i));
  const colPerm = rng.shuffle(Int32Array.from({ length: N_FEATURES }, (_, i) => i));
  const cols = Array.from({ length: N_FEATURES }, () => new Float64Array(n));
  const labels = new Int32Array(n);
  const z = new Float64Array(N_INFORMATIVE);
  const x = new Float64Array(N_FEATURES);
  const per = Math.floor(n / nClusters);
  const extra = n % nClusters;
  let row = 0;
  for (let k = 0; k < nClusters; k++) {
    const size = per + (k < extra ? 1 : 0);
    const a = mix[k] as number[];
    const c = centroids[k] as number[];
    for (let s = 0; s < size; s++, row++) {
      for (let j = 0; j < N_INFORMATIVE; j++) z[j] = rng.normal();
      for (let j = 0; j < N_INFORMATIVE; j++) {
        let v = c[j] as number;
        for (let i = 0; i < N_INFORMATIVE; i++) v += (z[i] as number) * (a[i * N_INFORMATIVE + j] as number);
        x[j] = v;
      }
      for (let r = 0; r < N_REDUNDANT; r++) {
        let v = 0;
        for (let i = 0; i < N_INFORMATIVE; i++)
          v += (x[i] as number) * (redundant[i * N_REDUNDANT + r] as number);
        x[N_INFORMATIVE + r] = v;
      }
      for (let j = N_INFORMATIVE + N_REDUNDANT; j < N_FEATURES; j++) x[j] = rng.normal();
      let y = k % 2;
      if (rng.next() < FLIP_Y) y = rng.int(2);
      const at = rowPerm[row] as number;
      labels[at] = y;
      for (let j = 0; j < N_FEATURES; j++) (cols[colPerm[j] as number] as Float64Array)[at] = x[j] as number;
    }
  }
  return { cols, labels, source: 'generated in TypeScript (make_classification algorithm, own RNG)' };
}

/** Reads the Python-written dataset in chunks (never the whole row-major copy at once). */
function readDataset(n: number): Dataset {
  const fd = openSync(`${DATA}.f64`, 'r');
  const cols = Array.from({ length: N_FEATURES }, () => new Float64Array(n));
  const chunkRows = 16_384;
  const buf = Buffer.alloc(chunkRows * N_FEATURES * 8);
  for (let r0 = 0; r0 < n; r0 += chunkRows) {
    const m = Math.min(chunkRows, n - r0);
    readSync(fd, buf, 0, m * N_FEATURES * 8, r0 * N_FEATURES * 8);
    const v = new Float64Array(buf.buffer, buf.byteOffset, m * N_FEATURES);
    for (let i = 0; i < m; i++) {
      for (let f = 0; f < N_FEATURES; f++)
        (cols[f] as Float64Array)[r0 + i] = v[i * N_FEATURES + f] as number;
    }
  }
  closeSync(fd);
  const lfd = openSync(`${DATA}.labels.i32`, 'r');
  const lb = Buffer.alloc(n * 4);
  readSync(lfd, lb, 0, n * 4, 0);
  closeSync(lfd);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = lb.readInt32LE(i * 4);
  return { cols, labels, source: `${DATA}.f64 (scikit-learn make_classification, random_state=0)` };
}

function slice(d: Dataset, a: number, b: number): TrainingData {
  const features: Frame = {
    nRows: b - a,
    columns: d.cols.map((c, f) => ({ kind: 'numeric' as const, name: `f${f}`, values: c.subarray(a, b) })),
  };
  return {
    features,
    target: { kind: 'classification', name: 'y', classes: ['0', '1'], labels: d.labels.subarray(a, b) },
  };
}

/** ROC AUC (rank-sum, ties half). */
function auc(scores: Float64Array, labels: Int32Array): number {
  const n = labels.length;
  const order = Int32Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => (scores[a] as number) - (scores[b] as number),
  );
  let rankSum = 0;
  let pos = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1] as number] === scores[order[i] as number]) j++;
    for (let k = i; k <= j; k++) {
      if (labels[order[k] as number] === 1) {
        rankSum += (i + j) / 2 + 1;
        pos++;
      }
    }
    i = j + 1;
  }
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * (n - pos));
}

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    threads: { type: 'string', default: '1,2' },
    rounds: { type: 'string', default: '100' },
    data: { type: 'string', default: DEFAULT_DATA },
  },
});
const DATA = values.data;
const nRows = Number(values.rows);
const nTrain = Math.floor(nRows * 0.8);
const t0 = performance.now();
const useFile = existsSync(`${DATA}.f64`) && nRows <= 1_000_000;
const data = useFile ? readDataset(nRows) : makeClassification(nRows, 0);
const train = slice(data, 0, nTrain);
const test = slice(data, nTrain, nRows);
const rawBytes = nTrain * N_FEATURES * 8;
console.log(`data: ${data.source}; ${nRows} rows (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
console.log(
  `train ${nTrain} × ${N_FEATURES}: raw float64 ${(rawBytes / 2 ** 20).toFixed(0)} MiB; all ${nRows} rows ${((nRows * N_FEATURES * 8) / 2 ** 20).toFixed(0)} MiB`,
);
console.log('note: a shared, noisy machine; figures are indicative');

for (const threads of values.threads.split(',').map(Number)) {
  const model = await trainGbdt(train, {
    nRounds: Number(values.rounds),
    maxLeaves: 31,
    maxBins: 255,
    learningRate: 0.1,
    nThreads: threads,
  });
  const s = model.fitStats;
  if (!s) throw new Error('no fit stats');
  const p = model.predict(test.features);
  const scores = new Float64Array(test.features.nRows);
  for (let i = 0; i < scores.length; i++) scores[i] = p[2 * i + 1] as number;
  const testLabels = test.target.kind === 'classification' ? test.target.labels : new Int32Array(0);
  const rate = s.histogramUpdates / s.histogramSeconds / s.threads;
  console.log(
    `threads ${s.threads}: fit ${s.seconds.toFixed(2)} s (binning ${s.binningSeconds.toFixed(2)} s, histograms ${s.histogramSeconds.toFixed(2)} s), ` +
      `AUC ${auc(scores, testLabels).toFixed(4)}, histogram ${(rate / 1e6).toFixed(0)} M row×feature updates/s per core`,
  );
  if (threads === 1) {
    // Prediction is single-threaded: rows/s on one core, best of ten.
    let best = Number.POSITIVE_INFINITY;
    for (let r = 0; r < 10; r++) {
      const a = performance.now();
      model.predict(test.features);
      best = Math.min(best, performance.now() - a);
    }
    const rps = test.features.nRows / (best / 1000);
    console.log(
      `predict: ${(rps / 1e6).toFixed(2)} M rows/s on one core (goal ≥ 1.00 M; ${model.nRounds} trees × 31 leaves)`,
    );
  }
}
const peak = process.resourceUsage().maxRSS * 1024;
console.log(
  `peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB = ${(peak / rawBytes).toFixed(2)}× the raw training floats ` +
    `(${(peak / (nRows * N_FEATURES * 8)).toFixed(2)}× all rows held; goal ≤ 3×)`,
);
