// Tuning goals of issue 4 on the real trainer: gradient-boosted trees on the Adult-like set
// (test/support/adult-like.ts), validation AUC as the objective. Intermediate reports are the
// negated validation log loss every round (what successive halving compares at its rungs;
// computing AUC every round would cost a prediction pass per round).
//
//   npx tsx bench/tuning-gbdt.ts            (10 seeds × 100 trials; ~10 min on 2 cores)
//   FALAJ_BENCH_TUNING_SEEDS=3 FALAJ_BENCH_TUNING_BUDGET=40 npx tsx bench/tuning-gbdt.ts
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type TrainingData, takeData } from '../src/training/frame.js';
import { trainGbdt } from '../src/training/gbdt/index.js';
import { loadTrainingData } from '../src/training/load/index.js';
import { rocAuc } from '../src/training/metrics/index.js';
import { float, int } from '../src/training/tuning/index.js';
import { holdoutSplit } from '../src/training/validation/index.js';
import { adultLikeCsv } from '../test/support/adult-like.js';
import { type BenchObjective, compareSamplers, printFigures } from './tuning.js';

const ROWS = Number(process.env.FALAJ_BENCH_TUNING_ROWS ?? 4000);
const ROUNDS = 150;

async function dataset(): Promise<TrainingData> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'falaj-bench-tuning-'));
  try {
    const file = path.join(dir, 'adult.csv');
    writeFileSync(file, adultLikeCsv(ROWS, 11));
    return (await loadTrainingData({ path: file, target: 'income' })).data;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function factoryOver(data: TrainingData) {
  return (seed: number): BenchObjective => {
    const labels = data.target.kind === 'classification' ? data.target.labels : undefined;
    const split = holdoutSplit({
      nRows: data.features.nRows,
      validFraction: 0.25,
      seed,
      ...(labels ? { stratify: labels } : {}),
    });
    const train = takeData(data, split.train);
    const valid = takeData(data, split.valid);
    const y = valid.target.kind === 'classification' ? valid.target.labels : new Int32Array(0);
    return {
      direction: 'maximize',
      maxResource: ROUNDS,
      space: {
        learningRate: float(0.005, 0.5, { log: true }),
        maxLeaves: int(2, 128, { log: true }),
        minSamplesLeaf: int(1, 200, { log: true }),
        lambdaL2: float(1e-3, 100, { log: true }),
        colsample: float(0.3, 1),
      },
      objective: async (trial) => {
        let pruned = false;
        const model = await trainGbdt(train, {
          ...(trial.params as Record<string, number>),
          nRounds: ROUNDS,
          seed: trial.seed,
          nThreads: 1,
          validation: valid,
          onRound: (round, info) => {
            trial.report(round, -info.validLoss);
            if (trial.shouldPrune()) {
              pruned = true;
              return 'stop';
            }
            return undefined;
          },
        });
        if (pruned) trial.pruneIfNeeded();
        const p = model.predict(valid.features);
        const p1 = new Float64Array(valid.features.nRows);
        for (let i = 0; i < p1.length; i++) p1[i] = p[2 * i + 1] as number;
        return rocAuc(y, p1);
      },
    };
  };
}

const seeds = Number(process.env.FALAJ_BENCH_TUNING_SEEDS ?? 10);
const budget = Number(process.env.FALAJ_BENCH_TUNING_BUDGET ?? 100);
const t0 = performance.now();
const data = await dataset();
console.log(
  `GBDT tuning on the Adult-like set: ${ROWS} rows, ${ROUNDS} rounds max, ${seeds} seeds × ${budget} trials`,
);
// The first rung at a ninth of a full run: earlier rungs judge trials by how fast they learn
// (high learning rates), which is not what wins at 150 rounds.
const pruner = {
  type: 'successive-halving',
  reductionFactor: 3,
  minResource: Math.ceil(ROUNDS / 9),
} as const;
printFigures(
  await compareSamplers(factoryOver(data), { seeds, budget, pruner, log: (line) => console.log(line) }),
);
console.log(`(${((performance.now() - t0) / 1000).toFixed(1)} s)`);
