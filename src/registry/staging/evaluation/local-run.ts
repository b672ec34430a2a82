// One evaluation on files already on this machine: a model version's files in a folder and the
// data in one file. The server runs it on what it fetched from its artifact store; the evaluator
// job (`falaj models evaluate-worker`) on what it downloaded through the API. Both take the same
// path from here on, so an evaluation computed in a job equals one computed in process.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { FalajError } from '../../../core/errors.js';
import type { Task } from '../../../training/estimator.js';
import { type EvaluationResult, scoreEvaluation } from './engine.js';
import { checkColumns, type EvalColumns, readEvalData } from './eval-data.js';
import { type EvalModel, nativeModel, onnxModel } from './model-predictor.js';

/** The options of an evaluation that shape the computation (not where the data comes from). */
export interface EvaluationOptions {
  target: string;
  sensitive?: string[];
  slices?: string[];
  positiveClass?: string;
  threshold?: number;
  minGroupSize?: number;
  features?: string[];
  task?: Task;
  classes?: string[];
}

/** The data of one evaluation on this machine. */
export interface LocalData {
  kind: 'dataset' | 'file';
  label: string;
  /** Known before reading (a dataset version's stored schema): checked before the rows are read. */
  columns: string[] | null;
}

/** Opens the model in `dir`, whose flat files are `names`: a Falaj model directory or an ONNX file. */
export async function openModelDir(
  dir: string,
  names: readonly string[],
  versionLabel: string,
  opts: { features?: readonly string[] } = {},
): Promise<EvalModel> {
  const have = new Set(names);
  if (have.has('model.json') && have.has('arrays.bin')) return nativeModel(dir);
  const onnx = names.find((n) => n.toLowerCase().endsWith('.onnx'));
  if (!onnx)
    throw new FalajError(
      'FALAJ_MODEL_SOURCE_INVALID',
      `version ${versionLabel} holds neither a Falaj model (model.json) nor an ONNX file`,
      { files: [...names] },
    );
  return onnxModel(new Uint8Array(await readFile(path.join(dir, onnx))), opts);
}

export function evalColumns(input: EvaluationOptions): EvalColumns {
  return { target: input.target, sensitive: input.sensitive ?? [], slices: input.slices ?? [] };
}

/** Refuses data whose known columns lack what the evaluation needs (FALAJ_EVALUATION_DATA_MISMATCH). */
export function checkKnownColumns(model: EvalModel, data: LocalData, input: EvaluationOptions): void {
  if (data.columns) checkColumns(data.columns, model, evalColumns(input), `dataset version ${data.label}`);
}

/** Reads the data file, predicts and scores. */
export async function scoreFile(
  model: EvalModel,
  file: string,
  data: LocalData,
  input: EvaluationOptions,
): Promise<{ result: EvaluationResult; runtime: string }> {
  const columns = evalColumns(input);
  const read = await readEvalData(file, model, columns, {
    where: data.kind === 'dataset' ? `dataset version ${data.label}` : `'${data.label}'`,
    ...(input.task ? { task: input.task } : {}),
    ...(input.classes ? { classes: input.classes } : {}),
  });
  const classes = read.target.kind === 'classification' ? read.target.classes : [];
  const predictions = await model.predict(read.frame, { task: read.task, classes });
  const result = scoreEvaluation(read.task, read.frame, read.target, predictions, {
    sensitive: columns.sensitive,
    slices: columns.slices,
    ...(input.positiveClass !== undefined ? { positiveClass: input.positiveClass } : {}),
    ...(input.threshold !== undefined ? { threshold: input.threshold } : {}),
    ...(input.minGroupSize !== undefined ? { minGroupSize: input.minGroupSize } : {}),
  });
  return { result, runtime: model.runtime };
}
