import type { Frame } from './frame.js';

export type Task = 'binary' | 'multiclass' | 'regression';

/**
 * A fitted model that takes raw rows (its preprocessing is part of it). Every trainer in
 * src/training returns one; metrics, cross-validation, tuning, serving and the ONNX exporter
 * only see this.
 */
export interface Predictor {
  readonly task: Task;
  /** Class names for classification (index = output column), empty for regression. */
  readonly classes: readonly string[];
  /** Names of the feature columns the model expects, in order. */
  readonly featureNames: readonly string[];
  /**
   * Row-major nRows × nOutputs: class probabilities for classification (nOutputs = number
   * of classes, two for binary), the prediction for regression (nOutputs = 1).
   */
  predict(frame: Frame): Float64Array;
}
