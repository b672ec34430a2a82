// The model families: looked up by kind, by model, by state and by `--model` choice.
import { describe, expect, it } from 'vitest';
import { FalajError } from '../../../src/core/errors.js';
import {
  familyOfChoice,
  familyOfModel,
  familyOfState,
  gbdtFamily,
  linearFamily,
  MODEL_FAMILIES,
  modelFamily,
} from '../../../src/training/families/index.js';
import { handGbdt, handLinear } from '../onnx/states.js';

function thrown(f: () => unknown): FalajError {
  try {
    f();
  } catch (err) {
    if (err instanceof FalajError) return err;
    throw err;
  }
  throw new Error('expected an error');
}

describe('model families', () => {
  it('are found by the kind model files record, and an unknown kind names the known ones', () => {
    expect(Object.keys(MODEL_FAMILIES)).toEqual(['gbdt', 'linear']);
    for (const [kind, family] of Object.entries(MODEL_FAMILIES)) expect(modelFamily(kind)).toBe(family);
    const e = thrown(() => modelFamily('toString'));
    expect(e.code).toBe('FALAJ_INVALID_ARGUMENT');
    expect(e.message).toMatch(/gbdt, linear/);
  });

  it('recognise their fitted models and their states, and load the one from the other', () => {
    const gbdt = gbdtFamily.load(handGbdt());
    const linear = linearFamily.load(handLinear());
    expect(familyOfModel(gbdt)).toBe(gbdtFamily);
    expect(familyOfModel(linear)).toBe(linearFamily);
    expect(familyOfModel({})).toBeUndefined();
    expect(familyOfState(gbdtFamily.state(gbdt))).toBe(gbdtFamily);
    expect(familyOfState(linearFamily.state(linear))).toBe(linearFamily);
    expect(familyOfState({ format: 'sklearn' })).toBeUndefined();
  });

  it('map --model choices to families and hold logistic and linear to their targets', () => {
    expect(familyOfChoice('gbdt', 'regression', 'y')).toBe(gbdtFamily);
    expect(familyOfChoice('logistic', 'binary', 'y')).toBe(linearFamily);
    expect(familyOfChoice('linear', 'regression', 'y')).toBe(linearFamily);
    expect(thrown(() => familyOfChoice('logistic', 'regression', 'y')).message).toBe(
      "--model logistic needs a class target; 'y' is numeric (use linear or gbdt)",
    );
    expect(thrown(() => familyOfChoice('linear', 'multiclass', 'y')).message).toBe(
      "--model linear needs a numeric target; 'y' has classes (use logistic or gbdt)",
    );
    expect(thrown(() => familyOfChoice('xgboost' as never)).code).toBe('FALAJ_INVALID_ARGUMENT');
  });
});
