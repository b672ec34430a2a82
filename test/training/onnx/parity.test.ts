// The acceptance test: every exported built-in model, run by onnxruntime-node on 10,000
// raw rows, gives the native predict's output to within 1e-5 — on rows with missing values,
// ±Infinity, categorical levels the model never saw, and levels coded in another order.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Predictor } from '../../../src/training/estimator.js';
import type { Frame } from '../../../src/training/frame.js';
import { trainGbdt } from '../../../src/training/gbdt/index.js';
import { trainLinearModel } from '../../../src/training/linear/index.js';
import { exportOnnx, OnnxPredictor } from '../../../src/training/onnx/index.js';
import { maxAbsDiff, scoringFrame, type TargetKind, trainingData } from './data.js';
import { treeEnsembleSummary } from './inspect.js';

const TOLERANCE = 1e-5;
const N_SCORE = 10_000;

let frame: Frame;
beforeAll(() => {
  frame = scoringFrame(N_SCORE, 2024);
});

/** Native and ONNX outputs on the scoring frame, and the ONNX labels. */
async function both(model: Predictor, bytes: Uint8Array) {
  const native = model.predict(frame);
  const onnx = await OnnxPredictor.create(bytes);
  try {
    const out = await onnx.run(frame);
    return { native, onnx: out.values, labels: out.labels };
  } finally {
    await onnx.release();
  }
}

/** classes[argmax] per row of a row-major probability matrix (first on ties, like ArgMax). */
function argmaxLabels(p: Float64Array, classes: readonly string[]): string[] {
  const k = classes.length;
  const out: string[] = [];
  for (let i = 0; i < p.length / k; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if ((p[i * k + c] as number) > (p[i * k + best] as number)) best = c;
    out.push(classes[best] as string);
  }
  return out;
}

function checkScoringFrame(f: Frame): void {
  // The frame really holds what the test claims to cover.
  const income = f.columns[0];
  const colour = f.columns[3];
  if (income?.kind !== 'numeric' || colour?.kind !== 'categorical')
    throw new Error('unexpected frame layout');
  expect(income.values.some((v) => v === Number.POSITIVE_INFINITY)).toBe(true);
  expect(income.values.some((v) => Number.isNaN(v))).toBe(true);
  expect(colour.codes.some((c) => c === -1)).toBe(true);
  expect(colour.codes.some((c) => colour.levels[c] === 'purple')).toBe(true);
}

const KINDS: TargetKind[] = ['binary', 'multiclass', 'regression'];

describe('ONNX export of GBDT models matches the native predictor', () => {
  for (const kind of KINDS) {
    it(`${kind}: max |onnx − native| ≤ 1e-5 on 10,000 rows`, async () => {
      checkScoringFrame(frame);
      const model = await trainGbdt(trainingData(kind, 4000, 11), { nRounds: 40, nThreads: 1, seed: 5 });
      const bytes = exportOnnx(model);
      // The ensemble exercises what the test is about: set splits and learned missing directions.
      const summary = treeEnsembleSummary(bytes);
      expect(summary.member).toBeGreaterThan(0);
      expect(summary.leq).toBeGreaterThan(0);
      expect(summary.missingTrue).toBeGreaterThan(0);
      const { native, onnx, labels } = await both(model, bytes);
      expect(onnx.length).toBe(N_SCORE * (kind === 'regression' ? 1 : model.classes.length));
      const diff = maxAbsDiff(native, onnx);
      console.log(`gbdt ${kind}: max abs diff ${diff.toExponential(2)}`);
      expect(diff).toBeLessThanOrEqual(TOLERANCE);
      if (kind === 'regression') {
        // Sensitivity: predictions in the thousands rounded to float32 would fail this test.
        expect(maxAbsDiff(native, native.map(Math.fround))).toBeGreaterThan(TOLERANCE);
      } else {
        expect(labels).toEqual(argmaxLabels(native, model.classes));
      }
    });
  }
});

describe('ONNX export of linear models matches the native predictor', () => {
  for (const kind of KINDS) {
    it(`${kind}: max |onnx − native| ≤ 1e-5 on 10,000 rows`, async () => {
      const model = trainLinearModel(trainingData(kind, 4000, 12));
      const bytes = exportOnnx(model);
      const { native, onnx, labels } = await both(model, bytes);
      expect(onnx.length).toBe(N_SCORE * (kind === 'regression' ? 1 : model.classes.length));
      const diff = maxAbsDiff(native, onnx);
      console.log(`linear ${kind}: max abs diff ${diff.toExponential(2)}`);
      expect(diff).toBeLessThanOrEqual(TOLERANCE);
      if (kind === 'regression') {
        expect(maxAbsDiff(native, native.map(Math.fround))).toBeGreaterThan(TOLERANCE);
      } else {
        expect(labels).toEqual(argmaxLabels(native, model.classes));
      }
    });
  }
});
