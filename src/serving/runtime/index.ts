// The serving runtimes: a model version's checked files loaded into a model that answers a
// parsed ColumnBatch (protocols/), natively (GBDT, linear) or in onnxruntime-node.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { FalajError } from '../../core/errors.js';
import { checkedFile, type ModelFileDigest, verifyFiles } from './files.js';
import { loadNativeModel } from './native.js';
import { loadOnnxModel, sampleBatch } from './onnx.js';
import { inferenceFailed, SAMPLE_VALUES, type ServingModel } from './types.js';

export type { ModelFileDigest } from './files.js';
export { ONNX_PLATFORM } from './onnx.js';
export type { ServingModel } from './types.js';

/**
 * Loads a model version's files that were downloaded to `dir`. Every file in `files` is hashed
 * and compared with its digest BEFORE anything is parsed: a mismatch (or a file the runtime
 * needs that has no digest) is FALAJ_MODEL_CHECKSUM and nothing loads.
 * format 'falaj': a native model directory (model.json + arrays.bin; a model.onnx is ignored).
 * format 'onnx': a single .onnx file (`dir` is its path) or a directory with model.onnx (or
 * exactly one listed *.onnx file). `features`: the column names of a graph's single 2-D input.
 */
export async function loadServingModel(
  dir: string,
  files: readonly ModelFileDigest[],
  format: 'falaj' | 'onnx',
  opts: { features?: readonly string[] } = {},
): Promise<ServingModel> {
  let root = dir;
  let onnxName: string | undefined;
  if (format === 'onnx') {
    let isFile = false;
    try {
      isFile = (await stat(dir)).isFile();
    } catch (err) {
      throw new FalajError(
        'FALAJ_MODEL_CHECKSUM',
        `the model files at ${dir} cannot be read (${(err as Error).message})`,
        {
          path: dir,
        },
      );
    }
    if (isFile) {
      root = path.dirname(dir);
      onnxName = path.basename(dir);
    } else if (files.some((f) => path.normalize(f.name) === 'model.onnx')) onnxName = 'model.onnx';
    else {
      const onnx = files.filter((f) => f.name.toLowerCase().endsWith('.onnx'));
      if (onnx.length !== 1)
        throw new FalajError(
          'FALAJ_MODEL_INVALID',
          `the model files hold ${onnx.length === 0 ? 'no' : 'several'} .onnx files and no model.onnx`,
          { files: files.map((f) => f.name) },
        );
      onnxName = (onnx[0] as ModelFileDigest).name;
    }
  }
  const checked = await verifyFiles(root, files);
  if (format === 'onnx') return loadOnnxModel(checkedFile(checked, onnxName as string), opts);
  checkedFile(checked, 'model.json');
  checkedFile(checked, 'arrays.bin');
  return loadNativeModel(root);
}

/**
 * A smoke prediction on one synthetic row (zeros, the first known level or '' for strings), the
 * health check before a model is swapped in. Throws FALAJ_INFERENCE_FAILED when the model fails
 * or answers something malformed.
 */
export async function healthCheck(model: ServingModel): Promise<void> {
  const batch = sampleBatch(model.signature.inputs, SAMPLE_VALUES.get(model) ?? new Map());
  const p = await model.predict(batch);
  const bad = (why: string) => inferenceFailed(new Error(`health check: ${why}`), model.runtime);
  if (p.kind !== (model.task === 'classifier' ? 'classifier' : 'regressor'))
    throw bad(`a ${model.task} answered as a ${p.kind}`);
  if (p.kind === 'regressor') {
    if (p.values.length !== 1) throw bad(`${p.values.length} values for one row`);
    if (!Number.isFinite(p.values[0])) throw bad(`the prediction ${p.values[0]} is not a finite number`);
    return;
  }
  if (p.labels.length !== 1) throw bad(`${p.labels.length} labels for one row`);
  const row = p.probabilities[0];
  if (p.probabilities.length !== 1 || !row || row.length !== p.classes.length)
    throw bad('the probabilities do not have one row of one value per class');
  if (!row.every((x) => Number.isFinite(x))) throw bad('a probability is not a finite number');
}
