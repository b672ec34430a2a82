// Mixed tabular data for the ONNX tests: numeric columns with missing values and repeated
// values (so rows land exactly on split thresholds), categorical columns with missing values,
// and scoring frames that add what training never saw (unseen levels, ±Infinity, levels listed
// in another order).
import type {
  CategoricalColumn,
  Frame,
  NumericColumn,
  Target,
  TrainingData,
} from '../../../src/training/frame.js';
import { Random } from '../../../src/training/random.js';

export const COLOURS = ['red', 'green', 'blue', 'black', 'white', 'grey'];
/** Many levels, so categorical left sets are large. */
export const CITIES = Array.from({ length: 40 }, (_, i) => `city ${i}`);

export type TargetKind = 'binary' | 'multiclass' | 'regression';

interface Rows {
  income: Float64Array;
  score: Float64Array;
  count: Float64Array;
  colour: Int32Array;
  city: Int32Array;
}

function rows(n: number, rng: Random): Rows {
  const r: Rows = {
    income: new Float64Array(n),
    score: new Float64Array(n),
    count: new Float64Array(n),
    colour: new Int32Array(n),
    city: new Int32Array(n),
  };
  for (let i = 0; i < n; i++) {
    r.income[i] = rng.next() < 0.1 ? Number.NaN : 40_000 + 15_000 * rng.normal();
    // Two decimals: many ties, so scoring rows often equal a threshold exactly.
    r.score[i] = Math.round(rng.next() * 100) / 100;
    r.count[i] = rng.next() < 0.05 ? Number.NaN : rng.int(20);
    r.colour[i] = rng.next() < 0.08 ? -1 : rng.int(COLOURS.length);
    r.city[i] = rng.next() < 0.05 ? -1 : rng.int(CITIES.length);
  }
  return r;
}

/** The signal: an interaction, a step, and effects of both categorical columns. */
function signal(r: Rows, i: number): number {
  const income = r.income[i] as number;
  const inc = Number.isNaN(income) ? 0.5 : (income - 40_000) / 15_000;
  const s = r.score[i] as number;
  const c = r.count[i] as number;
  const colour = r.colour[i] as number;
  const city = r.city[i] as number;
  return (
    inc * (s - 0.5) * 3 +
    (s > 0.7 ? 1 : -0.5) +
    (Number.isNaN(c) ? 0.8 : c / 10 - 1) +
    (colour < 0 ? 0 : ([0.9, -0.4, 0.2, -1, 0.5, 0][colour] as number)) +
    (city < 0 ? 0.3 : ((city * 7) % 11) / 5 - 1)
  );
}

function frameOf(r: Rows, colourLevels: readonly string[], cityLevels: readonly string[]): Frame {
  const numeric = (name: string, values: Float64Array): NumericColumn => ({ kind: 'numeric', name, values });
  const categorical = (name: string, codes: Int32Array, levels: readonly string[]): CategoricalColumn => ({
    kind: 'categorical',
    name,
    codes,
    levels,
  });
  return {
    nRows: r.income.length,
    columns: [
      numeric('income ($)', r.income),
      numeric('score', r.score),
      numeric('count', r.count),
      categorical('colour', r.colour, colourLevels),
      categorical('home city', r.city, cityLevels),
    ],
  };
}

export function trainingData(kind: TargetKind, n: number, seed: number): TrainingData {
  const rng = new Random(seed);
  const r = rows(n, rng);
  let target: Target;
  if (kind === 'binary') {
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) labels[i] = signal(r, i) + rng.normal() > 0 ? 1 : 0;
    target = { kind: 'classification', name: 'y', classes: ['no', 'yes'], labels };
  } else if (kind === 'multiclass') {
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const s = signal(r, i) + 0.7 * rng.normal();
      labels[i] = s < -1 ? 0 : s < 0.5 ? 1 : s < 1.5 ? 2 : 3;
    }
    target = { kind: 'classification', name: 'y', classes: ['low', 'mid', 'high', 'top'], labels };
  } else {
    // Values in the thousands: float32 keeps ~7 digits, so a float path would miss 1e-5.
    const values = new Float64Array(n);
    for (let i = 0; i < n; i++) values[i] = 5000 + 1234.5678 * signal(r, i) + 50 * rng.normal();
    target = { kind: 'regression', name: 'y', values };
  }
  return { features: frameOf(r, COLOURS, CITIES), target };
}

/**
 * Rows to score: fresh draws, plus levels the model never saw ('purple', 'city 99'), ±Infinity
 * in numeric columns, and the categorical levels listed in a different order than in training
 * (a frame's codes are its own; models must match levels by name).
 */
export function scoringFrame(n: number, seed: number): Frame {
  const rng = new Random(seed);
  const r = rows(n, rng);
  const colourLevels = [...COLOURS].reverse().concat(['purple']);
  const cityLevels = [...CITIES.slice(20), 'city 99', ...CITIES.slice(0, 20)];
  // Recode to the shuffled level lists.
  for (let i = 0; i < n; i++) {
    const c = r.colour[i] as number;
    r.colour[i] = c < 0 ? -1 : colourLevels.indexOf(COLOURS[c] as string);
    const t = r.city[i] as number;
    r.city[i] = t < 0 ? -1 : cityLevels.indexOf(CITIES[t] as string);
    if (rng.next() < 0.04) r.colour[i] = colourLevels.indexOf('purple');
    if (rng.next() < 0.04) r.city[i] = cityLevels.indexOf('city 99');
    const u = rng.next();
    if (u < 0.01) r.income[i] = Number.POSITIVE_INFINITY;
    else if (u < 0.02) r.income[i] = Number.NEGATIVE_INFINITY;
    else if (u < 0.03) r.count[i] = Number.POSITIVE_INFINITY;
  }
  return frameOf(r, colourLevels, cityLevels);
}

/** Largest absolute difference between two equally long arrays (Infinity if lengths differ). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number));
    // NaN on either side must fail the comparison, not vanish in Math.max.
    if (!(d <= m)) m = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
  }
  return m;
}
