// The built-in training engine as a library: `import { runTraining, trainGbdt } from 'falaj'`.
export type { Predictor, Task } from './estimator.js';
export type { Column, Frame, Target, TrainingData } from './frame.js';
export { GbdtModel, type GbdtOptions, trainGbdt } from './gbdt/index.js';
export { LinearModel, type LinearParams, trainLinearModel } from './linear/index.js';
export { frameFromRecords, loadFrame, loadTrainingData } from './load/index.js';
export { evaluate } from './metrics/index.js';
export { loadModel, saveModel } from './model-file.js';
export { exportOnnx, OnnxPredictor, onnxPredict } from './onnx/index.js';
export { runTraining, type TrainObserver, type TrainRequest, type TrainResult } from './run-training.js';
export { categorical, createStudy, float, int, type SearchSpace } from './tuning/index.js';
export { crossValidate, holdoutSplit, stratifiedKFold } from './validation/index.js';
