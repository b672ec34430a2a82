// The output end of every exported graph: raw scores (double, [N, outputs]) become the
// `probabilities` and `label` outputs of a classifier, or the `prediction` of a regressor.
// Standard double operators reproduce the native link functions; the ai.onnx.ml classifiers'
// post_transform would compute in float32.
import type { Task } from '../estimator.js';
import { OUTPUT_LABEL, OUTPUT_PREDICTION, OUTPUT_PROBABILITIES } from './names.js';
import {
  attr,
  DataType,
  doubleTensor,
  type GraphBuilder,
  stringTensor,
  type ValueInfoProto,
  valueInfo,
} from './proto.js';

/**
 * Adds the link and label nodes after `raw` and returns the graph outputs:
 *   binary      p1 = Sigmoid(raw), probabilities = [1 − p1, p1]  (the native predict's order)
 *   multiclass  probabilities = Softmax(raw) over the class axis
 *   regression  prediction = raw  ([N, 1])
 * and for classifiers label = classes[ArgMax(probabilities)], a string [N] (first class on ties).
 */
export function addHead(
  g: GraphBuilder,
  raw: string,
  task: Task,
  classes: readonly string[],
): ValueInfoProto[] {
  if (task === 'regression') {
    g.node('Identity', [raw], { outputs: [OUTPUT_PREDICTION] });
    return [valueInfo(OUTPUT_PREDICTION, DataType.DOUBLE, ['N', 1])];
  }
  if (task === 'binary') {
    const p1 = g.op('Sigmoid', [raw], { hint: 'p1' });
    const one = g.constant('one', doubleTensor([1], []));
    const p0 = g.op('Sub', [one, p1], { hint: 'p0' });
    g.node('Concat', [p0, p1], { outputs: [OUTPUT_PROBABILITIES], attributes: [attr.int('axis', 1)] });
  } else {
    g.node('Softmax', [raw], { outputs: [OUTPUT_PROBABILITIES], attributes: [attr.int('axis', 1)] });
  }
  const best = g.op('ArgMax', [OUTPUT_PROBABILITIES], {
    hint: 'best',
    attributes: [attr.int('axis', 1), attr.int('keepdims', 0)],
  });
  const names = g.constant('classes', stringTensor(classes));
  g.node('Gather', [names, best], { outputs: [OUTPUT_LABEL], attributes: [attr.int('axis', 0)] });
  return [
    valueInfo(OUTPUT_PROBABILITIES, DataType.DOUBLE, ['N', classes.length]),
    valueInfo(OUTPUT_LABEL, DataType.STRING, ['N']),
  ];
}
