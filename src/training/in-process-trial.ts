// A tuning trial fitted in this process: the model family fits the trial's params on the
// training rows and is judged by its loss on the validation rows; a family that trains in rounds
// reports each round's validation loss, so the pruner can stop a poor trial early.
import type { Predictor, Task } from './estimator.js';
import type { FalajModel, ModelFamily } from './families/index.js';
import type { TrainingData } from './frame.js';
import { evaluate, scalarMetrics } from './metrics/index.js';
import type { RunTrial } from './tuning/index.js';

/** The loss tuning minimises (the trainers' own validation loss: log loss or squared error). */
function validationLoss(task: Task, data: TrainingData, model: Predictor): number {
  const m = scalarMetrics(evaluate(task, data.target, model.predict(data.features), data.weights));
  return task === 'regression' ? (m.rmse as number) ** 2 : (m.logloss as number);
}

export function inProcessTrial(o: {
  family: ModelFamily<FalajModel>;
  task: Task;
  train: TrainingData;
  valid: TrainingData;
  nThreads?: number;
}): RunTrial {
  return async (params, trial) => {
    let pruned = false;
    const model = await o.family.fit(o.train, params, {
      seed: trial.seed,
      ...(o.nThreads ? { nThreads: o.nThreads } : {}),
      validation: o.valid,
      onRound: (round, info) => {
        trial.report(round, info.validLoss);
        if (trial.shouldPrune()) {
          pruned = true;
          return 'stop';
        }
        return undefined;
      },
    });
    if (pruned) trial.pruneIfNeeded();
    const settled = o.family.tuning.settled?.(model);
    return { value: validationLoss(o.task, o.valid, model), ...(settled ? { settled } : {}) };
  };
}
