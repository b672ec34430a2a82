// The model families by kind: how training, model files, tuning and ONNX export (and, next, the
// registry and serving) find what a kind of model does, instead of branching on its name.
import { FalajError } from '../../core/errors.js';
import type { Task } from '../estimator.js';
import { isModelChoice, MODEL_CHOICES, type ModelChoice } from './choices.js';
import type { ModelFamily, ModelKind } from './family.js';
import { gbdtFamily } from './gbdt.js';
import { linearFamily } from './linear.js';

export { isModelChoice, MODEL_CHOICES, type ModelChoice } from './choices.js';
export type { FitOptions, ModelFamily, ModelKind, ModelState, OnnxColumn } from './family.js';
export { gbdtFamily } from './gbdt.js';
export { linearFamily } from './linear.js';

export const MODEL_FAMILIES = { gbdt: gbdtFamily, linear: linearFamily } as const satisfies Record<
  ModelKind,
  ModelFamily
>;

/** A fitted model of any family (what `load` and `fit` give). */
export type FalajModel = ReturnType<(typeof MODEL_FAMILIES)[ModelKind]['load']>;

/** The family of `kind`, or undefined: for callers with their own error (an unknown kind in a file). */
export function findFamily(kind: unknown): ModelFamily<FalajModel> | undefined {
  return typeof kind === 'string' && Object.hasOwn(MODEL_FAMILIES, kind)
    ? (MODEL_FAMILIES[kind as ModelKind] as ModelFamily<FalajModel>)
    : undefined;
}

/** The family of `kind`; an unknown kind is FALAJ_INVALID_ARGUMENT naming the known ones. */
export function modelFamily(kind: string): ModelFamily<FalajModel> {
  const family = findFamily(kind);
  if (!family)
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      `unknown model kind '${kind}' (known: ${Object.keys(MODEL_FAMILIES).join(', ')})`,
      { parameter: 'kind', value: kind },
    );
  return family;
}

/** The family a fitted model belongs to, or undefined for anything else. */
export function familyOfModel(model: unknown): ModelFamily<FalajModel> | undefined {
  return Object.values(MODEL_FAMILIES).find((f) => f.owns(model)) as ModelFamily<FalajModel> | undefined;
}

/** The family whose state `state` is (by its format field), or undefined. */
export function familyOfState(state: unknown): ModelFamily<FalajModel> | undefined {
  const format =
    typeof state === 'object' && state !== null ? (state as { format?: unknown }).format : undefined;
  return Object.values(MODEL_FAMILIES).find((f) => f.stateFormat === format) as
    | ModelFamily<FalajModel>
    | undefined;
}

/**
 * The family a `model` choice trains, checked against the target it was given (see choices.ts):
 * an unknown choice or the wrong kind of target is FALAJ_INVALID_ARGUMENT.
 */
export function familyOfChoice(choice: ModelChoice, task?: Task, target?: string): ModelFamily<FalajModel> {
  if (!isModelChoice(choice))
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      `unknown model '${String(choice)}' (use ${Object.keys(MODEL_CHOICES).join(', ')})`,
      { parameter: 'model' },
    );
  const { kind, needs } = MODEL_CHOICES[choice];
  if (needs && task !== undefined) {
    const classes = task !== 'regression';
    if (needs.target === 'classes' && !classes)
      throw new FalajError(
        'FALAJ_INVALID_ARGUMENT',
        `--model ${choice} needs a class target; '${target}' is numeric (use ${needs.instead})`,
        { parameter: 'model' },
      );
    if (needs.target === 'numeric' && classes)
      throw new FalajError(
        'FALAJ_INVALID_ARGUMENT',
        `--model ${choice} needs a numeric target; '${target}' has classes (use ${needs.instead})`,
        { parameter: 'model' },
      );
  }
  return modelFamily(kind);
}
