// What `model` accepts in `falaj train`, the SDK and server-side training: the names people use,
// each mapped to the family that trains it. 'logistic' and 'linear' are the one linear family
// held to a class or a numeric target, so that a mistaken choice fails before training instead
// of silently fitting the other model.
import type { ModelKind } from './family.js';

export type ModelChoice = 'gbdt' | 'logistic' | 'linear';

export interface Choice {
  readonly kind: ModelKind;
  /** The target the choice is held to, and what to use instead for the other kind of target. */
  readonly needs?: { readonly target: 'classes' | 'numeric'; readonly instead: string };
}

/** In the order help texts list them. */
export const MODEL_CHOICES: Readonly<Record<ModelChoice, Choice>> = {
  gbdt: { kind: 'gbdt' },
  logistic: { kind: 'linear', needs: { target: 'classes', instead: 'linear or gbdt' } },
  linear: { kind: 'linear', needs: { target: 'numeric', instead: 'logistic or gbdt' } },
};

export function isModelChoice(name: unknown): name is ModelChoice {
  return typeof name === 'string' && Object.hasOwn(MODEL_CHOICES, name);
}
