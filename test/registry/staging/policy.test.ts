import { describe, expect, it } from 'vitest';
import { runChecks } from '../../../src/registry/staging/gates/checks.js';
import { parsePolicy } from '../../../src/registry/staging/gates/policy.js';

// The gate policy: YAML or JSON, refused in full when it names what does not exist, and run
// over a version's facts with every check's value, threshold and outcome.
describe('gate policy', () => {
  const YAML = `
evaluation:
  dataset: holdout
metrics:
  - auc >= 0.90
  - { metric: logloss, op: "<=", value: 0.5 }
  - auc >= champion.auc - 0.005
fairness:
  sex:
    - demographic_parity_ratio >= 0.8
    - equalized_odds_difference <= 0.1
    - four_fifths_rule
training_data_validated: true
schema_compatible: true
`;

  it('parses YAML and JSON to the same policy', () => {
    const p = parsePolicy(YAML);
    expect(p.evaluation).toEqual({ dataset: 'holdout' });
    expect(p.metrics).toEqual([
      { metric: 'auc', op: '>=', value: 0.9 },
      { metric: 'logloss', op: '<=', value: 0.5 },
    ]);
    expect(p.champion).toEqual([{ metric: 'auc', op: '>=', championMetric: 'auc', offset: -0.005 }]);
    expect(p.fairness).toEqual([
      { column: 'sex', measure: 'demographic_parity_ratio', op: '>=', value: 0.8 },
      { column: 'sex', measure: 'equalized_odds_difference', op: '<=', value: 0.1 },
      { column: 'sex', measure: 'four_fifths_rule', op: '==', value: 1 },
    ]);
    expect(p.trainingDataValidated).toBe(true);
    const json = parsePolicy(
      JSON.stringify({
        evaluation: { dataset: 'holdout' },
        metrics: ['auc >= 0.90', { metric: 'logloss', op: '<=', value: 0.5 }, 'auc >= champion.auc - 0.005'],
        fairness: {
          sex: ['demographic_parity_ratio >= 0.8', 'equalized_odds_difference <= 0.1', 'four_fifths_rule'],
        },
        training_data_validated: true,
        schema_compatible: true,
      }),
    );
    expect(json).toEqual(p);
    expect(parsePolicy('metrics: [pr_auc >= 0.5]').metrics[0]?.metric).toBe('prAuc');
  });

  it.each([
    ['metrics: [aucc >= 0.9]', /'aucc' is not a metric/],
    ['fairness: {sex: [parity >= 0.8]}', /'parity' is not a fairness measure/],
    ['metrics: [auc => 0.9]', /does not parse/],
    ['metric: [auc >= 0.9]', /unknown section metric/],
    ['metrics: "auc >= 0.9"', /must be a list/],
    ['training_data_validated: yes please', /true or false/],
    ['metrics: [auc >= 0.9', /not valid YAML/],
    ['fairness: {sex: [demographic_parity_ratio >= champion.auc]}', /compare with a number/],
  ])('refuses %s', (source, message) => {
    let err: unknown;
    try {
      parsePolicy(source);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'FALAJ_GATE_POLICY_INVALID' });
    expect((err as Error).message).toMatch(message);
  });

  it('runs every check with its value, threshold and outcome', () => {
    const policy = parsePolicy(YAML);
    const report = {
      fairlearn: { demographicParityRatio: 0.5, equalizedOddsDifference: 0.05 },
      aif360: {},
      groups: [{}, {}],
      smallGroups: [],
      fourFifthsRule: { passed: false, highestSelectionRate: 0.4, failingGroups: ['sex=Female'] },
    };
    const checks = runChecks(policy, {
      evaluation: {
        id: 'e1',
        kind: 'dataset',
        data: 'holdout@1',
        dataDigest: 'd',
        metrics: { auc: 0.93, logloss: 0.3 },
        fairness: { sex: { column: 'sex', report: report as never } },
      },
      champion: {
        alias: 'production',
        version: 1,
        evaluation: {
          id: 'e0',
          kind: 'dataset',
          data: 'holdout@1',
          dataDigest: 'd',
          metrics: { auc: 0.94 },
          fairness: {},
        },
        inputs: [{ name: 'a', type: 'double' }],
      },
      championAlias: 'production',
      trainingData: [{ label: 'train@2', status: 'passed', overridden: false }],
      inputs: [{ name: 'a', type: 'double' }],
    });
    expect(checks.map((c) => [c.name, c.value, c.threshold, c.passed])).toEqual([
      ['auc >= 0.9', 0.93, 0.9, true],
      ['logloss <= 0.5', 0.3, 0.5, true],
      ['sex: demographic_parity_ratio >= 0.8', 0.5, 0.8, false],
      ['sex: equalized_odds_difference <= 0.1', 0.05, 0.1, true],
      ['sex: four_fifths_rule', false, true, false],
      ['auc >= champion.auc - 0.005', 0.93, 0.9349999999999999, false],
      ['training_data_validated', 'train@2: passed', 'passed', true],
      ['schema_compatible', true, true, true],
    ]);
  });

  it('fails a check it cannot judge, and says why', () => {
    const checks = runChecks(parsePolicy('metrics: [auc >= 0.9]\ntraining_data_validated: true'), {
      evaluation: null,
      champion: null,
      championAlias: 'production',
      trainingData: [],
      inputs: null,
    });
    expect(checks.every((c) => !c.passed)).toBe(true);
    expect(checks[0]?.detail).toMatch(/no evaluation/);
    expect(checks[1]?.detail).toMatch(/no dataset version/);
  });
});
