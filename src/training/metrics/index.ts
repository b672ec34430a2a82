export {
  type Average,
  accuracy,
  confusionMatrix,
  f1Score,
  type PrecisionRecallF1,
  perClassScores,
  precision,
  precisionRecallF1,
  recall,
} from './classification.js';
export {
  type ClassificationMetrics,
  evaluate,
  HIGHER_IS_BETTER,
  type Metrics,
  outputCount,
  type RegressionMetrics,
  scalarMetrics,
} from './evaluate.js';
export {
  brierScore,
  type CalibrationCurve,
  calibrationCurve,
  LOG_LOSS_EPS,
  logLoss,
  topLabelCalibrationCurve,
} from './probabilistic.js';
export { averagePrecision, averagePrecisionOvr, rocAuc, rocAucOvr } from './ranking.js';
export { MAPE_EPS, mae, mape, meanSquaredError, r2, rmse } from './regression.js';
export { argmaxLabels, columnOf } from './weights.js';
