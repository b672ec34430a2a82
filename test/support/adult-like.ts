import { prng } from './prng.js';

// A tabular classification set shaped like UCI Adult (census income > 50K): mixed numeric and
// categorical columns, missing values, a heavy-tailed column and interactions, so that trees
// beat a linear model by a margin similar to the published one. Deterministic per seed.
const WORKCLASS = [
  'Private',
  'Self-emp-not-inc',
  'Self-emp-inc',
  'Federal-gov',
  'Local-gov',
  'State-gov',
  'Without-pay',
];
const MARITAL = ['Married-civ-spouse', 'Never-married', 'Divorced', 'Separated', 'Widowed'];
const OCCUPATION = [
  'Exec-managerial',
  'Prof-specialty',
  'Tech-support',
  'Sales',
  'Craft-repair',
  'Adm-clerical',
  'Machine-op-inspct',
  'Transport-moving',
  'Handlers-cleaners',
  'Farming-fishing',
  'Other-service',
  'Protective-serv',
  'Priv-house-serv',
  'Armed-Forces',
];
const OCC_EFFECT = [1.1, 1.0, 0.6, 0.4, 0.1, 0.0, -0.3, -0.2, -0.7, -0.8, -1.0, 0.3, -1.5, 0.0];
const RACE = ['White', 'Black', 'Asian-Pac-Islander', 'Amer-Indian-Eskimo', 'Other'];
const REGION = ['US', 'Mexico', 'Europe', 'Asia', 'Other'];

export const ADULT_LIKE_COLUMNS = [
  'age',
  'workclass',
  'education_num',
  'marital_status',
  'occupation',
  'race',
  'sex',
  'capital_gain',
  'capital_loss',
  'hours_per_week',
  'native_region',
  'income',
] as const;

function pick<T>(r: () => number, items: readonly T[], weights?: readonly number[]): T {
  if (!weights) return items[Math.floor(r() * items.length)] as T;
  const total = weights.reduce((a, b) => a + b, 0);
  let u = r() * total;
  for (let i = 0; i < items.length; i++) {
    u -= weights[i] as number;
    if (u <= 0) return items[i] as T;
  }
  return items[items.length - 1] as T;
}

function normal(r: () => number): number {
  let u = 0;
  while (u === 0) u = r();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}

/** `rows` rows as CSV text (header first); empty cells are missing values. */
export function adultLikeCsv(rows: number, seed = 1): string {
  const r = prng(seed);
  const lines = [ADULT_LIKE_COLUMNS.join(',')];
  for (let i = 0; i < rows; i++) {
    const age = Math.min(90, Math.max(17, Math.round(38 + 13 * normal(r))));
    const education = Math.min(16, Math.max(1, Math.round(10 + 2.6 * normal(r))));
    const marital = pick(r, MARITAL, [46, 33, 14, 3, 4]);
    const occIndex = Math.floor(r() * OCCUPATION.length);
    const occupation = r() < 0.05 ? '' : (OCCUPATION[occIndex] as string);
    const workclass = r() < 0.05 ? '' : pick(r, WORKCLASS, [70, 8, 4, 3, 6, 4, 0.5]);
    const sex = r() < 0.67 ? 'Male' : 'Female';
    const race = pick(r, RACE, [85, 10, 3, 1, 1]);
    const region = pick(r, REGION, [90, 2, 3, 3, 2]);
    const gain = r() < 0.08 ? Math.round(Math.exp(7 + 1.6 * r() * 2)) : 0;
    const loss = r() < 0.05 ? Math.round(1500 + 600 * r()) : 0;
    const hours = Math.min(99, Math.max(1, Math.round(40 + 12 * normal(r))));
    const married = marital === 'Married-civ-spouse';
    // Income odds: an age curve peaking in the fifties, education that pays mostly when
    // married (an interaction), occupation, hours with diminishing returns, and a capital-gain
    // threshold — shapes a linear model can only approximate.
    const z =
      -5.6 +
      4.2 * Math.exp(-(((age - 50) / 14) ** 2)) +
      (married ? 3.0 + 0.6 * (education - 10) : 0.2 * (education - 10)) +
      (OCC_EFFECT[occIndex] as number) * 1.6 +
      1.8 * Math.tanh((hours - 40) / 12) +
      (gain > 5000 ? 6 : gain > 0 ? 0.6 : 0) +
      (loss > 1800 ? 2 : 0) +
      (sex === 'Male' ? 0.4 : 0);
    const income = r() < 1 / (1 + Math.exp(-z)) ? '>50K' : '<=50K';
    const eduCell = r() < 0.02 ? '' : String(education);
    lines.push(
      [age, workclass, eduCell, marital, occupation, race, sex, gain, loss, hours, region, income].join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}
