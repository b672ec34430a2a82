// Linear models against closed forms and textbook values, plus the properties the rest of
// the platform relies on (serialisable, deterministic, clear errors).
import { describe, expect, it } from 'vitest';
import { FalajError } from '../../../src/core/errors.js';
import { type TrainingData, takeData } from '../../../src/training/frame.js';
import {
  LinearModel,
  minimizeLbfgs,
  trainLinearRegression,
  trainLogisticRegression,
} from '../../../src/training/linear/index.js';
import { transform } from '../../../src/training/preprocess/index.js';
import { Random } from '../../../src/training/random.js';
import { cat, classTarget, frame, num, regTarget, solveLinear } from './frames.js';

function expectFalaj(fn: () => unknown, code: string, text: string | RegExp): FalajError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(FalajError);
    const e = err as FalajError;
    expect(e.code).toBe(code);
    expect(e.message).toMatch(text);
    return e;
  }
  throw new Error('expected a FalajError');
}

/** Population mean and standard deviation, as the model's standardisation. */
function stats(v: number[]): { mean: number; sd: number } {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
  return { mean, sd };
}

describe('ridge regression', () => {
  it('matches the closed form (ZᵀZ/n + αI)β = Zᵀ(y − ȳ)/n on standardised columns', () => {
    const x1 = [1, 2, 3, 4, 5, 6];
    const x2 = [2, 1, 4, 3, 7, 5];
    const y = [1.5, 2.1, 3.9, 4.2, 6.8, 6.1];
    const alpha = 0.5;
    const model = trainLinearRegression(
      { features: frame(num('a', x1), num('b', x2)), target: regTarget(y) },
      { alpha, tol: 1e-12 },
    );
    const n = y.length;
    const s1 = stats(x1);
    const s2 = stats(x2);
    const z1 = x1.map((v) => (v - s1.mean) / s1.sd);
    const z2 = x2.map((v) => (v - s2.mean) / s2.sd);
    const ym = stats(y).mean;
    const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * (b[i] as number), 0);
    const yc = y.map((v) => v - ym);
    const beta = solveLinear(
      [
        [dot(z1, z1) / n + alpha, dot(z1, z2) / n],
        [dot(z2, z1) / n, dot(z2, z2) / n + alpha],
      ],
      [dot(z1, yc) / n, dot(z2, yc) / n],
    );
    const st = model.state();
    expect(st.convergence.solver).toBe('lbfgs');
    expect(st.convergence.converged).toBe(true);
    expect(st.coefficients[0]?.[0]).toBeCloseTo(beta[0] as number, 9);
    expect(st.coefficients[0]?.[1]).toBeCloseTo(beta[1] as number, 9);
    expect(st.intercepts[0]).toBeCloseTo(ym, 9);
    expect(st.preprocess.columns[0]).toEqual({ kind: 'numeric', name: 'a', mean: 3.5, scale: s1.sd });
  });

  it('is ordinary least squares at alpha = 0 (exact fit of a noiseless line)', () => {
    const x = [0, 1, 2, 3, 4];
    const model = trainLinearRegression(
      { features: frame(num('x', x)), target: regTarget(x.map((v) => 3 - 2 * v)) },
      { alpha: 0, tol: 1e-12 },
    );
    const orig = model.originalCoefficients();
    expect(orig.coefficients[0]?.[0]).toBeCloseTo(-2, 9);
    expect(orig.intercepts[0]).toBeCloseTo(3, 9);
    expect(Array.from(model.predict(frame(num('x', [10]))))[0]).toBeCloseTo(-17, 8);
  });
});

describe('lasso and elastic net on an orthogonal design', () => {
  // Columns with mean 0, population variance 1 and x1·x2 = 0, so (1/n)XᵀX = I and the
  // solution is β = S(z, αρ) / (1 + α(1 − ρ)) with z = Xᵀ(y − ȳ)/n = (1.5, 1.0).
  const features = frame(num('x1', [1, 1, -1, -1]), num('x2', [1, -1, 1, -1]));
  const target = regTarget([3, 1, 0, -2]);

  it('lasso soft-thresholds: β = (0.3, exactly 0)', () => {
    const model = trainLinearRegression({ features, target }, { alpha: 1.2, l1Ratio: 1, tol: 1e-12 });
    const st = model.state();
    expect(st.convergence.solver).toBe('fista');
    expect(st.convergence.converged).toBe(true);
    expect(st.coefficients[0]?.[0]).toBeCloseTo(0.3, 10);
    expect(st.coefficients[0]?.[1]).toBe(0);
    expect(st.intercepts[0]).toBeCloseTo(0.5, 10);
  });

  it('elastic net shrinks after thresholding: β = (1/1.5, 0.5/1.5)', () => {
    const model = trainLinearRegression({ features, target }, { alpha: 1, l1Ratio: 0.5, tol: 1e-12 });
    const st = model.state();
    expect(st.coefficients[0]?.[0]).toBeCloseTo(1 / 1.5, 10);
    expect(st.coefficients[0]?.[1]).toBeCloseTo(0.5 / 1.5, 10);
  });

  it('keeps the same solution when the target is rescaled (the L1 strength is in target units)', () => {
    const scaled = regTarget([3, 1, 0, -2].map((v) => v * 1000));
    const model = trainLinearRegression(
      { features, target: scaled },
      { alpha: 1200, l1Ratio: 1, tol: 1e-12 },
    );
    expect(model.state().coefficients[0]?.[0]).toBeCloseTo(300, 6);
    expect(model.state().coefficients[0]?.[1]).toBe(0);
  });

  it('an L1 logistic fit satisfies the lasso optimality (KKT) conditions', () => {
    // At the optimum, each coefficient's loss gradient g_j (on the standardised design) is
    // −λ·sign(β_j) where β_j ≠ 0 and within [−λ, λ] where β_j = 0, λ = α·l1Ratio.
    const r = new Random(12);
    const n = 400;
    const cols = Array.from({ length: 5 }, () => Array.from({ length: n }, () => r.normal()));
    const y = cols[0]?.map((v, i) => (2 * v - (cols[1]?.[i] as number) + r.normal() > 0 ? 'b' : 'a')) ?? [];
    const features = frame(...cols.map((c, j) => num(`x${j}`, c)));
    const lambda = 0.05;
    const model = trainLogisticRegression(
      { features, target: classTarget(y) },
      { alpha: lambda, l1Ratio: 1, tol: 1e-10 },
    );
    const st = model.state();
    expect(st.convergence.converged).toBe(true);
    const beta = st.coefficients[0] as number[];
    expect(beta.filter((b) => b === 0).length).toBeGreaterThan(0);
    const x = transform(st.preprocess, features);
    const p1 = model.predict(features);
    beta.forEach((b, j) => {
      let g = 0;
      for (let i = 0; i < n; i++)
        g += ((p1[i * 2 + 1] as number) - (y[i] === 'b' ? 1 : 0)) * (x[i * 5 + j] as number);
      g /= n;
      if (b === 0) expect(Math.abs(g)).toBeLessThanOrEqual(lambda + 1e-8);
      else expect(g).toBeCloseTo(-lambda * Math.sign(b), 8);
    });
  });

  it('multinomial elastic net: probabilities sum to 1, noise columns are zero', () => {
    const r = new Random(21);
    const n = 300;
    const a = Array.from({ length: n }, () => r.normal());
    const noise = Array.from({ length: n }, () => r.normal());
    const y = a.map((v) => (v < -0.4 ? 'lo' : v < 0.4 ? 'mid' : 'hi'));
    const features = frame(num('a', a), num('noise', noise));
    const model = trainLogisticRegression(
      { features, target: classTarget(y) },
      { alpha: 0.05, l1Ratio: 0.9 },
    );
    expect(model.convergence.solver).toBe('fista');
    expect(model.convergence.converged).toBe(true);
    expect(model.state().coefficients.map((row) => row[1])).toEqual([0, 0, 0]);
    const p = model.predict(features);
    for (let i = 0; i < n; i++)
      expect((p[i * 3] as number) + (p[i * 3 + 1] as number) + (p[i * 3 + 2] as number)).toBeCloseTo(1, 12);
  });

  it('zeroes every coefficient of an L1 logistic model when alpha is large', () => {
    const r = new Random(3);
    const n = 200;
    const a = Array.from({ length: n }, () => r.normal());
    const y = a.map((v) => (v + r.normal() > 0 ? 'yes' : 'no'));
    const model = trainLogisticRegression(
      { features: frame(num('a', a)), target: classTarget(y) },
      { alpha: 10, l1Ratio: 1 },
    );
    expect(model.state().coefficients[0]).toEqual([0]);
  });
});

describe('logistic regression', () => {
  // Hours of study vs passing an exam (the Wikipedia "Logistic regression" example), whose
  // maximum-likelihood fit is published as intercept −4.1, slope 1.5; here the reference
  // comes from Newton's method in the test itself, to 1e-12.
  const hours = [
    0.5, 0.75, 1, 1.25, 1.5, 1.75, 1.75, 2, 2.25, 2.5, 2.75, 3, 3.25, 3.5, 4, 4.25, 4.5, 4.75, 5, 5.5,
  ];
  const pass = [0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1];

  function newton(x: number[], y: number[]): [number, number] {
    let b0 = 0;
    let b1 = 0;
    for (let it = 0; it < 100; it++) {
      let g0 = 0;
      let g1 = 0;
      let h00 = 0;
      let h01 = 0;
      let h11 = 0;
      x.forEach((xi, i) => {
        const p = 1 / (1 + Math.exp(-(b0 + b1 * xi)));
        const r = p - (y[i] as number);
        const w = p * (1 - p);
        g0 += r;
        g1 += r * xi;
        h00 += w;
        h01 += w * xi;
        h11 += w * xi * xi;
      });
      const [d0, d1] = solveLinear(
        [
          [h00, h01],
          [h01, h11],
        ],
        [g0, g1],
      ) as [number, number];
      b0 -= d0;
      b1 -= d1;
    }
    return [b0, b1];
  }

  it('matches the unpenalised maximum-likelihood fit', () => {
    const [b0, b1] = newton(hours, pass);
    expect(b0).toBeCloseTo(-4.0777, 4);
    expect(b1).toBeCloseTo(1.5046, 4);
    const model = trainLogisticRegression(
      { features: frame(num('hours', hours)), target: classTarget(pass.map((p) => (p ? 'pass' : 'fail'))) },
      { alpha: 0, tol: 1e-11 },
    );
    expect(model.task).toBe('binary');
    expect(model.classes).toEqual(['fail', 'pass']);
    const orig = model.originalCoefficients();
    expect(orig.coefficients[0]?.[0]).toBeCloseTo(b1, 8);
    expect(orig.intercepts[0]).toBeCloseTo(b0, 8);
    const p = model.predict(frame(num('hours', [2])));
    expect(p[1]).toBeCloseTo(1 / (1 + Math.exp(-(b0 + 2 * b1))), 8);
    expect((p[0] as number) + (p[1] as number)).toBeCloseTo(1, 15);
  });

  it('multinomial: probabilities sum to 1 and mean probabilities equal class shares', () => {
    // With unpenalised intercepts the optimum satisfies Σᵢ (pᵢₖ − [yᵢ = k]) = 0 for each k.
    const r = new Random(7);
    const n = 300;
    const a = Array.from({ length: n }, () => r.normal());
    const b = Array.from({ length: n }, () => r.normal());
    const c = Array.from({ length: n }, () => (['red', 'green', 'blue'] as const)[r.int(3)] as string);
    const y = a.map((v, i) => {
      const s = v + 0.5 * (b[i] as number) + (c[i] === 'red' ? 1 : 0) + r.normal();
      return s < -0.5 ? 'low' : s < 0.8 ? 'mid' : 'high';
    });
    const features = frame(num('a', a), num('b', b), cat('c', c));
    const target = classTarget(y);
    const model = trainLogisticRegression({ features, target }, { alpha: 0.01, tol: 1e-10 });
    expect(model.task).toBe('multiclass');
    expect(model.convergence.converged).toBe(true);
    const p = model.predict(features);
    const mean = [0, 0, 0];
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < 3; k++) {
        s += p[i * 3 + k] as number;
        mean[k] = (mean[k] as number) + (p[i * 3 + k] as number) / n;
      }
      expect(s).toBeCloseTo(1, 12);
    }
    for (let k = 0; k < 3; k++) {
      const share = Array.from(target.labels).filter((l) => l === k).length / n;
      expect(mean[k]).toBeCloseTo(share, 8);
    }
  });

  it('drops a class with no rows and refuses a single class', () => {
    const target = {
      kind: 'classification' as const,
      name: 'y',
      classes: ['a', 'b', 'c'],
      labels: Int32Array.from([0, 2, 0, 2]),
    };
    const model = trainLogisticRegression({ features: frame(num('x', [1, 2, 3, 4])), target });
    expect(model.classes).toEqual(['a', 'c']);
    expect(model.task).toBe('binary');
    expectFalaj(
      () => trainLogisticRegression({ features: frame(num('x', [1, 2])), target: classTarget(['a', 'a']) }),
      'FALAJ_DATA_INVALID',
      /single class \('a'\)/,
    );
  });
});

describe('sample weights', () => {
  it('weights equal duplicated rows (logistic with a categorical column, and ridge)', () => {
    const x = [0.3, -1.2, 2.1, 0.7, -0.4, 1.5, -2.2, 0.1];
    const g = ['a', 'b', 'a', 'c', 'b', null, 'a', 'c'];
    const ycls = ['n', 'n', 'y', 'y', 'n', 'y', 'n', 'y'];
    const yreg = [1.1, -0.3, 2.9, 1.4, 0.2, 2.2, -1.9, 0.8];
    const weights = [1, 2, 3, 1, 2, 1, 1, 2];
    const rows: number[] = [];
    weights.forEach((w, i) => {
      for (let k = 0; k < w; k++) rows.push(i);
    });
    const features = frame(num('x', x), cat('g', g));
    for (const [target, train] of [
      [classTarget(ycls), trainLogisticRegression],
      [regTarget(yreg), trainLinearRegression],
    ] as const) {
      const weighted: TrainingData = { features, target, weights: Float64Array.from(weights) };
      const duplicated = takeData({ features, target }, rows);
      const a = train(weighted, { alpha: 0.05, tol: 1e-11 }).state();
      const b = train(duplicated, { alpha: 0.05, tol: 1e-11 }).state();
      const ca = a.coefficients[0] as number[];
      const cb = b.coefficients[0] as number[];
      for (const [j, v] of ca.entries()) expect(v).toBeCloseTo(cb[j] as number, 8);
      expect(a.intercepts[0]).toBeCloseTo(b.intercepts[0] as number, 8);
      const pa = a.preprocess.columns[0];
      const pb = b.preprocess.columns[0];
      if (pa?.kind !== 'numeric' || pb?.kind !== 'numeric') throw new Error('numeric expected');
      expect(pa.mean).toBeCloseTo(pb.mean, 12);
      expect(pa.scale).toBeCloseTo(pb.scale, 12);
    }
  });

  it('refuses negative weights naming the row', () => {
    expectFalaj(
      () =>
        trainLinearRegression({
          features: frame(num('x', [1, 2, 3])),
          target: regTarget([1, 2, 3]),
          weights: Float64Array.from([1, -1, 1]),
        }),
      'FALAJ_DATA_INVALID',
      /row 2/,
    );
  });
});

describe('model state and prediction input', () => {
  const features = frame(
    num('x', [1, 2, 3, 4, 5, 6]),
    cat('g', ['a', 'b', 'a', 'b', 'c', 'c']),
    num('k', [7, 7, 7, 7, 7, 7]),
  );
  const data: TrainingData = { features, target: classTarget(['n', 'n', 'y', 'n', 'y', 'y']) };

  it('the same data gives an identical state, and the state round-trips through JSON', () => {
    const a = trainLogisticRegression(data);
    const b = trainLogisticRegression(data);
    expect(JSON.stringify(a.state())).toBe(JSON.stringify(b.state()));
    const restored = LinearModel.fromState(JSON.parse(JSON.stringify(a.state())));
    expect(Array.from(restored.predict(features))).toEqual(Array.from(a.predict(features)));
    expect(restored.featureNames).toEqual(['x', 'g', 'k']);
    // A constant column standardises to zero and so carries no weight.
    expect(a.state().coefficients[0]?.[4]).toBe(0);
  });

  it('names a missing column at prediction time; ignores extra ones', () => {
    const model = trainLogisticRegression(data);
    const e = expectFalaj(
      () => model.predict(frame(num('x', [1]), num('k', [7]))),
      'FALAJ_MODEL_INVALID',
      /'g'/,
    );
    expect(e.details).toMatchObject({ column: 'g' });
    expect(
      model.predict(frame(num('x', [1]), cat('g', ['a']), num('k', [7]), num('extra', [0]))).length,
    ).toBe(2);
    expectFalaj(
      () => model.predict(frame(cat('x', ['big']), cat('g', ['a']), num('k', [7]))),
      'FALAJ_MODEL_INVALID',
      /'x' was numeric/,
    );
  });

  it('an unseen or missing level contributes nothing (all-zero indicators)', () => {
    const model = trainLogisticRegression(data);
    const p = model.predict(frame(num('x', [3, 3]), cat('g', ['zzz', null]), num('k', [7, 7])));
    expect(p[1]).toBe(p[3]);
    const st = model.state();
    const z =
      (st.intercepts[0] as number) + (st.coefficients[0]?.[0] as number) * ((3 - 3.5) / Math.sqrt(35 / 12));
    expect(p[1]).toBeCloseTo(1 / (1 + Math.exp(-z)), 12);
  });

  it('refuses a corrupt state with FALAJ_MODEL_INVALID', () => {
    const good = trainLogisticRegression(data).state();
    const bad = [
      null,
      { ...good, format: 'other' },
      { ...good, coefficients: [[1, 2]] },
      { ...good, intercepts: ['x'] },
      { ...good, task: 'regression' },
      { ...good, preprocess: { columns: [{ kind: 'numeric', name: 'x', mean: 0, scale: 0 }] } },
      { ...good, classes: ['a', 'a'] },
    ];
    for (const s of bad)
      expectFalaj(() => LinearModel.fromState(s), 'FALAJ_MODEL_INVALID', /linear model|preprocess/);
  });

  it('refuses unknown or out-of-range parameters naming them', () => {
    expectFalaj(() => trainLogisticRegression(data, { l1Ratio: 2 }), 'FALAJ_INVALID_ARGUMENT', /l1Ratio/);
    expectFalaj(() => trainLogisticRegression(data, { C: 1 } as never), 'FALAJ_INVALID_ARGUMENT', /'C'/);
  });
});

describe('L-BFGS', () => {
  it('minimises the Rosenbrock function to (1, 1)', () => {
    const res = minimizeLbfgs(
      (x, g) => {
        const a = x[0] as number;
        const b = x[1] as number;
        g[0] = -2 * (1 - a) - 400 * a * (b - a * a);
        g[1] = 200 * (b - a * a);
        return (1 - a) ** 2 + 100 * (b - a * a) ** 2;
      },
      Float64Array.from([-1.2, 1]),
      { maxIter: 500, tol: 1e-10 },
    );
    expect(res.converged).toBe(true);
    expect(res.x[0]).toBeCloseTo(1, 8);
    expect(res.x[1]).toBeCloseTo(1, 8);
  });
});
