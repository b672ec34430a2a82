// Validation suites: Great Expectations' configuration shape, checked before anything runs so
// that a malformed suite is refused whole (FALAJ_INVALID_ARGUMENT naming the expectation)
// rather than failing half way through a scan.
import { FalajError } from '../core/errors.js';
import type { Expectation, Suite } from './types.js';

export const PAIR_OPERATORS = ['>', '>=', '<', '<=', '==', '!='] as const;
export type PairOperator = (typeof PAIR_OPERATORS)[number];

type Field = 'string' | 'number' | 'boolean' | 'array' | 'scalar' | 'reference';
interface Spec {
  required: Record<string, Field>;
  optional?: Record<string, Field>;
}

const MOSTLY = { mostly: 'number' } as const;
export const EXPECTATIONS: Record<string, Spec> = {
  expect_column_to_exist: { required: { column: 'string' } },
  expect_column_values_to_be_of_type: { required: { column: 'string', type_: 'string' } },
  expect_column_values_to_not_be_null: { required: { column: 'string' }, optional: MOSTLY },
  expect_column_values_to_be_unique: { required: { column: 'string' }, optional: MOSTLY },
  expect_column_values_to_be_between: {
    required: { column: 'string' },
    optional: {
      min_value: 'scalar',
      max_value: 'scalar',
      strict_min: 'boolean',
      strict_max: 'boolean',
      ...MOSTLY,
    },
  },
  expect_column_values_to_be_in_set: { required: { column: 'string', value_set: 'array' }, optional: MOSTLY },
  expect_column_values_to_match_regex: { required: { column: 'string', regex: 'string' }, optional: MOSTLY },
  expect_table_row_count_to_be_between: {
    required: {},
    optional: { min_value: 'number', max_value: 'number' },
  },
  expect_column_pair_values_to_compare: {
    required: { column_A: 'string', column_B: 'string', operator: 'string' },
    optional: MOSTLY,
  },
  expect_column_pair_values_a_to_be_greater_than_b: {
    required: { column_A: 'string', column_B: 'string' },
    optional: { or_equal: 'boolean', ...MOSTLY },
  },
  expect_column_pair_values_to_be_equal: {
    required: { column_A: 'string', column_B: 'string' },
    optional: MOSTLY,
  },
  expect_column_distribution_to_match_reference: {
    required: { column: 'string', reference: 'reference' },
    optional: { method: 'string', threshold: 'number' },
  },
};

function bad(index: number, message: string, field?: string): FalajError {
  return new FalajError('FALAJ_INVALID_ARGUMENT', `expectation ${index}: ${message}`, {
    expectation: index,
    ...(field ? { field } : {}),
  });
}

function fits(value: unknown, field: Field): boolean {
  switch (field) {
    case 'string':
      return typeof value === 'string' && value.length > 0;
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'array':
      return (
        Array.isArray(value) &&
        value.every((v) => v === null || ['string', 'number', 'boolean'].includes(typeof v))
      );
    case 'scalar':
      return (
        value === null || typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))
      );
    case 'reference':
      return typeof value === 'string' && /^[^@\s]+@(\d+|latest)$/.test(value);
  }
}

/** Checks a suite document and returns it typed; throws FALAJ_INVALID_ARGUMENT on the first problem. */
export function parseSuite(doc: unknown): Suite {
  if (typeof doc !== 'object' || doc === null || !Array.isArray((doc as Suite).expectations)) {
    throw new FalajError('FALAJ_INVALID_ARGUMENT', 'a suite is an object with an `expectations` array', {});
  }
  const suite = doc as Suite;
  if (suite.name !== undefined && typeof suite.name !== 'string')
    throw new FalajError('FALAJ_INVALID_ARGUMENT', 'suite name must be a string', {});
  if (suite.expectations.length > 1000)
    throw new FalajError('FALAJ_INVALID_ARGUMENT', 'a suite holds at most 1000 expectations', {});
  suite.expectations.forEach((e: Expectation, i) => {
    if (typeof e !== 'object' || e === null || typeof e.expectation_type !== 'string')
      throw bad(i, 'needs an `expectation_type`');
    const spec = EXPECTATIONS[e.expectation_type];
    if (!spec)
      throw bad(
        i,
        `unknown expectation_type '${e.expectation_type}' (known: ${Object.keys(EXPECTATIONS).join(', ')})`,
        'expectation_type',
      );
    const kwargs = e.kwargs ?? {};
    if (typeof kwargs !== 'object' || Array.isArray(kwargs))
      throw bad(i, '`kwargs` must be an object', 'kwargs');
    for (const [name, field] of Object.entries(spec.required)) {
      if (!fits(kwargs[name], field))
        throw bad(
          i,
          `${e.expectation_type} needs \`${name}\` (${field === 'reference' ? '"dataset@N"' : field})`,
          name,
        );
    }
    for (const [name, value] of Object.entries(kwargs)) {
      const field = spec.required[name] ?? spec.optional?.[name];
      if (!field) throw bad(i, `${e.expectation_type} takes no \`${name}\``, name);
      if (!fits(value, field)) throw bad(i, `\`${name}\` must be a ${field}`, name);
    }
    const mostly = kwargs.mostly as number | undefined;
    if (mostly !== undefined && (mostly < 0 || mostly > 1))
      throw bad(i, '`mostly` is a fraction between 0 and 1', 'mostly');
    if (
      e.expectation_type === 'expect_column_pair_values_to_compare' &&
      !PAIR_OPERATORS.includes(kwargs.operator as PairOperator)
    ) {
      throw bad(i, `\`operator\` is one of ${PAIR_OPERATORS.join(' ')}`, 'operator');
    }
    if (e.expectation_type === 'expect_column_values_to_match_regex') {
      try {
        new RegExp(kwargs.regex as string);
      } catch {
        throw bad(i, `\`regex\` is not a valid regular expression`, 'regex');
      }
    }
    e.kwargs = kwargs;
  });
  return suite;
}
