// ONNX export of the built-in models and an onnxruntime-node runner for the exported graphs.
export {
  type ExportableModel,
  type ExportOptions,
  exportOnnx,
  IR_VERSION,
  META,
  ONNX_EXPORT_VERSION,
  OPSET_ML,
  OPSET_ONNX,
} from './export.js';
export { type InputBinding, OUTPUT_LABEL, OUTPUT_PREDICTION, OUTPUT_PROBABILITIES } from './names.js';
export { OnnxPredictor, onnxPredict } from './predict.js';
