// What a loaded model offers the serving layer: its signature for the protocol codecs, and a
// prediction for a parsed batch. Both runtimes (native, onnx) implement it.
import { FalajError } from '../../core/errors.js';
import type { ColumnBatch, Label, ModelSignature, Prediction } from '../protocols/index.js';

export interface ServingModel {
  /** 'falaj': the native predictor (the families' load); 'onnx': onnxruntime-node. */
  readonly runtime: 'falaj' | 'onnx';
  /** V2 metadata platform string: 'falaj_gbdt' / 'falaj_linear' / 'onnxruntime_onnx'. */
  readonly platform: string;
  readonly task: 'classifier' | 'regressor';
  /** Inputs in the model's column order (what the codecs parse onto); outputs from defaultOutputs(). */
  readonly signature: ModelSignature;
  /** Predicts a parsed batch; a runtime failure is FalajError('FALAJ_INFERENCE_FAILED'). */
  predict(batch: ColumnBatch): Promise<Prediction>;
  release(): Promise<void>;
}

/** A value per input column for the health check's synthetic row (a known level for strings). */
export const SAMPLE_VALUES = new WeakMap<ServingModel, ReadonlyMap<string, string>>();

/** Class names as the protocols present them: integer-looking names ("0", "1") as numbers. */
export function presentClasses(classes: readonly string[]): Label[] {
  const integral =
    classes.length > 0 &&
    classes.every((c) => /^-?(0|[1-9][0-9]*)$/.test(c) && Number.isSafeInteger(Number(c)));
  return integral ? classes.map(Number) : [...classes];
}

export function inferenceFailed(err: unknown, runtime: string): FalajError {
  const message = err instanceof Error ? err.message : String(err);
  return new FalajError('FALAJ_INFERENCE_FAILED', `the ${runtime} runtime failed to predict: ${message}`, {
    runtime,
    ...(err instanceof FalajError ? { cause: err.code } : {}),
  });
}

/** A batch that lacks a column or holds the wrong kind of data for it (the codecs never give one). */
export function badBatch(message: string, column: string): FalajError {
  return new FalajError('FALAJ_INVALID_ARGUMENT', message, { column });
}

/** Row-major probabilities (rows × k) as rows, and the argmax label per row (first maximum wins). */
export function classify(
  probs: ArrayLike<number>,
  rows: number,
  classes: readonly Label[],
): { labels: Label[]; probabilities: number[][] } {
  const k = classes.length;
  const labels = new Array<Label>(rows);
  const probabilities = new Array<number[]>(rows);
  for (let r = 0, o = 0; r < rows; r++) {
    const row = new Array<number>(k);
    let best = 0;
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < k; c++, o++) {
      const p = probs[o] as number;
      row[c] = p;
      if (p > max) {
        max = p;
        best = c;
      }
    }
    probabilities[r] = row;
    labels[r] = classes[best] as Label;
  }
  return { labels, probabilities };
}
