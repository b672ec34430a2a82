// Small hand-made frames and targets for the training tests.
import type {
  CategoricalColumn,
  ClassTarget,
  Column,
  Frame,
  NumericColumn,
  RegressionTarget,
} from '../../../src/training/frame.js';

export function num(name: string, values: readonly number[]): NumericColumn {
  return { kind: 'numeric', name, values: Float64Array.from(values) };
}

/** A categorical column from strings (null = missing), levels sorted. */
export function cat(name: string, values: readonly (string | null)[]): CategoricalColumn {
  const levels = [...new Set(values.filter((v): v is string => v !== null))].sort();
  const codes = Int32Array.from(values.map((v) => (v === null ? -1 : levels.indexOf(v))));
  return { kind: 'categorical', name, codes, levels };
}

export function frame(...columns: Column[]): Frame {
  return {
    nRows:
      columns[0] === undefined
        ? 0
        : columns[0].kind === 'numeric'
          ? columns[0].values.length
          : columns[0].codes.length,
    columns,
  };
}

export function classTarget(values: readonly string[], name = 'y'): ClassTarget {
  const classes = [...new Set(values)].sort();
  return {
    kind: 'classification',
    name,
    classes,
    labels: Int32Array.from(values.map((v) => classes.indexOf(v))),
  };
}

export function regTarget(values: readonly number[], name = 'y'): RegressionTarget {
  return { kind: 'regression', name, values: Float64Array.from(values) };
}

/** Solves A·x = b by Gaussian elimination with partial pivoting (tests only). */
export function solveLinear(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i] as number]);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[piv]![c]!)) piv = r;
    [m[c], m[piv]] = [m[piv]!, m[c]!];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r]![c]! / m[c]![c]!;
      for (let k = c; k <= n; k++) m[r]![k]! -= f * m[c]![k]!;
    }
  }
  return m.map((row, i) => row[n]! / row[i]!);
}
