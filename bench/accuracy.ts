// Accuracy on the Adult-like set (test/support/adult-like.ts; issue 4's reference: XGBoost/EBM
// reach 0.927–0.928 AUROC on UCI Adult, logistic regression ~0.907): 5-fold cross-validated
// AUC of gradient-boosted trees with defaults and after TPE tuning, and of logistic regression.
//
//   npx tsx bench/accuracy.ts [--rows 30000] [--trials 40]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runTraining, type TrainRequest } from '../src/training/run-training.js';
import { adultLikeCsv } from '../test/support/adult-like.js';

const { values } = parseArgs({ options: { rows: { type: 'string' }, trials: { type: 'string' } } });
const rows = Number(values.rows ?? 30_000);
const trials = Number(values.trials ?? 40);
const dir = mkdtempSync(path.join(os.tmpdir(), 'falaj-bench-accuracy-'));
const data = path.join(dir, 'adult.csv');
writeFileSync(data, adultLikeCsv(rows, 21));

const base: TrainRequest = { data, target: 'income', cv: 5, seed: 1 };
const line = (label: string, r: Awaited<ReturnType<typeof runTraining>>, seconds: number) => {
  const std = r.validation.kind === 'cv' ? (r.validation.std.auc ?? Number.NaN) : Number.NaN;
  console.log(
    `${label.padEnd(46)} AUC ${r.metrics.auc?.toFixed(4)} ± ${std.toFixed(4)}  logloss ${r.metrics.logloss?.toFixed(4)}  accuracy ${r.metrics.accuracy?.toFixed(4)}  (${seconds.toFixed(1)} s)`,
  );
};
try {
  console.log(`Adult-like set: ${rows} rows, 5-fold cross-validation`);
  for (const [label, req] of [
    ['gradient-boosted trees, defaults', { ...base }],
    ['logistic regression (elastic net off)', { ...base, model: 'logistic' }],
    [`gradient-boosted trees, TPE ${trials} trials`, { ...base, tune: trials }],
  ] as [string, TrainRequest][]) {
    const t = performance.now();
    const r = await runTraining(req);
    line(label, r, (performance.now() - t) / 1000);
    if (r.tuning) console.log(`  tuned: ${JSON.stringify(r.tuning.bestParams)}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
