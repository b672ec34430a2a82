// The exporter's one error, shared with the model families that describe their graphs.
import { FalajError } from '../../core/errors.js';

export function cannotExport(message: string, details?: unknown): FalajError {
  return new FalajError('FALAJ_MODEL_INVALID', `cannot export to ONNX: ${message}`, details);
}
