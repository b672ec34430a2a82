import { float, int, type SearchSpace } from './tuning/index.js';

export type ModelChoice = 'gbdt' | 'logistic' | 'linear';

/**
 * The spaces `--tune N` searches when no space is given: the parameters that matter most for
 * each model, on the scales they act on (learning rate and regularisation on a log scale).
 */
export function defaultSpace(model: ModelChoice): SearchSpace {
  if (model === 'gbdt')
    return {
      learningRate: float(0.01, 0.3, { log: true }),
      maxLeaves: int(8, 128, { log: true }),
      minSamplesLeaf: int(5, 100, { log: true }),
      lambdaL2: float(1e-3, 10, { log: true }),
      colsample: float(0.5, 1),
      subsample: float(0.5, 1),
    };
  return { alpha: float(1e-6, 1, { log: true }), l1Ratio: float(0, 1) };
}
