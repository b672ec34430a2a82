// A suite proposed from a profile, as TFDV infers a schema from statistics: each column must
// exist with its type; columns without nulls stay without (and those with some keep at least
// their observed share, rounded down); numbers stay in their observed range; text columns
// with a few values stay within them; the row count stays positive. The suggestion passes on
// the data it came from (a test holds it to that); users then tighten or loosen it.
import type { Expectation, Profile, Suite } from './types.js';

/** Text columns with at most this many distinct values get a value-set expectation. */
export const MAX_SET_SIZE = 20;

export function suggestSuite(profile: Profile, name = 'suggested'): Suite {
  const expectations: Expectation[] = [
    { expectation_type: 'expect_table_row_count_to_be_between', kwargs: { min_value: 1 } },
  ];
  for (const c of profile.columns) {
    expectations.push({ expectation_type: 'expect_column_to_exist', kwargs: { column: c.name } });
    expectations.push({
      expectation_type: 'expect_column_values_to_be_of_type',
      kwargs: { column: c.name, type_: c.type },
    });
    if (c.nulls === 0) {
      expectations.push({
        expectation_type: 'expect_column_values_to_not_be_null',
        kwargs: { column: c.name },
      });
    } else if (c.count > 0) {
      const mostly = Math.floor((c.count / profile.rowCount) * 100) / 100;
      if (mostly > 0)
        expectations.push({
          expectation_type: 'expect_column_values_to_not_be_null',
          kwargs: { column: c.name, mostly },
        });
    }
    if (c.kind === 'numeric' && typeof c.min === 'number' && typeof c.max === 'number') {
      expectations.push({
        expectation_type: 'expect_column_values_to_be_between',
        kwargs: { column: c.name, min_value: c.min, max_value: c.max },
      });
    }
    const tops = c.topValues ?? [];
    const covered = tops.reduce((s, t) => s + t.count, 0);
    // Only when the listed values are all the values (their counts add up to every non-null).
    if (c.kind === 'text' && tops.length > 0 && tops.length <= MAX_SET_SIZE && covered === c.count) {
      expectations.push({
        expectation_type: 'expect_column_values_to_be_in_set',
        kwargs: { column: c.name, value_set: tops.map((t) => t.value).sort() },
      });
    }
  }
  return { name, expectations, meta: { suggestedFrom: { rowCount: profile.rowCount } } };
}
