// The pure pieces: PII classification, schema diff, suite parsing, and the promise that a
// suggested suite passes on the data it was suggested from (no store needed).
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestFile } from '../../src/data/ingest.js';
import { classify } from '../../src/data/pii.js';
import { computeProfile } from '../../src/data/profile.js';
import { diffSchemas } from '../../src/data/schema-diff.js';
import { suggestSuite } from '../../src/data/suggest.js';
import { parseSuite } from '../../src/data/suite.js';
import { runSuite } from '../../src/data/validate.js';
import { DuckWorkspace } from '../../src/data/workspace.js';
import { peopleCsv } from './helpers.js';

describe('PII classification', () => {
  it('tags emails, phones, national ids and names, and leaves other text alone', () => {
    expect(classify('contact', ['a@b.co', 'x.y@example.org', 'q@r.ae'])).toBe('email');
    expect(classify('tel', ['+971 50 123 4567', '(555) 123-4567', '+44 20 7946 0958'])).toBe('phone');
    expect(classify('ssn', ['123-45-6789', '987-65-4321'])).toBe('national_id');
    expect(classify('eid', ['784-1985-1234567-1', '784198512345671'])).toBe('national_id');
    expect(classify('full_name', ['Aisha Al Mansoori', "Liam O'Brien", 'Noor'])).toBe('name');
    // Capitalised words under a header that does not say "name" are cities, not people.
    expect(classify('city', ['Dubai', 'Muscat', 'Doha'])).toBeNull();
    expect(classify('code', ['a1', 'b2', 'c3'])).toBeNull();
    // One email among many other values is below the 80% share.
    expect(classify('note', ['a@b.co', 'hello', 'world', 'x', 'y'])).toBeNull();
  });
});

describe('schema diff', () => {
  it('reports added, removed and retyped columns', () => {
    expect(
      diffSchemas(
        [
          { name: 'a', type: 'DOUBLE' },
          { name: 'b', type: 'VARCHAR' },
        ],
        [
          { name: 'a', type: 'VARCHAR' },
          { name: 'c', type: 'DATE' },
        ],
      ),
    ).toEqual({
      added: [{ name: 'c', type: 'DATE' }],
      removed: [{ name: 'b', type: 'VARCHAR' }],
      retyped: [{ name: 'a', from: 'DOUBLE', to: 'VARCHAR' }],
    });
  });
});

describe('suite parsing', () => {
  it('names the expectation and field at fault', () => {
    expect(() =>
      parseSuite({
        expectations: [
          { expectation_type: 'expect_column_values_to_not_be_null', kwargs: { column: 'a', mostly: 2 } },
        ],
      }),
    ).toThrow(/expectation 0: `mostly`/);
    expect(() => parseSuite({ expectations: [{}, {}] })).toThrow(/expectation 0/);
    expect(() =>
      parseSuite({
        expectations: [
          {
            expectation_type: 'expect_column_pair_values_to_compare',
            kwargs: { column_A: 'a', column_B: 'b', operator: '=>' },
          },
        ],
      }),
    ).toThrow(/operator/);
    expect(() => parseSuite([])).toThrow(/expectations/);
  });
});

describe('profile and suggested suite on a file', () => {
  let ws: DuckWorkspace;
  beforeAll(async () => {
    ws = await DuckWorkspace.open();
  });
  afterAll(async () => {
    await ws?.close();
  });

  it('profiles exactly what the data holds, and the suggested suite passes on it', async () => {
    const csv = ws.file('p.csv');
    writeFileSync(csv, peopleCsv(40));
    const out = ws.file('p.parquet');
    const { schema } = await ingestFile(ws, csv, 'p.csv', 'csv', out);
    const profile = await computeProfile(ws, 'read_parquet($1)', [out], schema);
    const id = profile.columns[0]!;
    // id = 1..40: mean 20.5, sample std sqrt(40·41/12), median 20.5, distinct 40.
    expect(id).toMatchObject({ name: 'id', count: 40, distinct: 40, min: 1, max: 40, mean: 20.5 });
    expect(id.std).toBeCloseTo(Math.sqrt((40 * 41) / 12), 12);
    expect(id.quantiles?.['0.5']).toBe(20.5);
    expect(id.quantiles?.['0.25']).toBeCloseTo(10.75, 12);
    expect(id.histogram?.counts).toEqual(new Array(20).fill(2));
    const joined = profile.columns.find((c) => c.name === 'joined')!;
    expect(joined).toMatchObject({ kind: 'temporal', min: '2024-01-01', max: '2024-01-28' });

    const suite = suggestSuite(profile);
    const result = await runSuite(ws, out, schema, parseSuite(JSON.parse(JSON.stringify(suite))));
    expect(result.success).toBe(true);
    expect(result.statistics.evaluated_expectations).toBe(suite.expectations.length);
  });

  it('evaluates mostly, pair comparisons and regexes as Great Expectations does', async () => {
    const csv = ws.file('m.csv');
    writeFileSync(csv, 'a,b,code\n1,0,ab\n2,3,cd\n3,1,\n4,,xx1\n5,2,ab\n');
    const out = ws.file('m.parquet');
    const { schema } = await ingestFile(ws, csv, 'm.csv', 'csv', out);
    const r = await runSuite(ws, out, schema, {
      expectations: [
        {
          expectation_type: 'expect_column_pair_values_a_to_be_greater_than_b',
          kwargs: { column_A: 'a', column_B: 'b', mostly: 0.75 },
        },
        {
          expectation_type: 'expect_column_values_to_match_regex',
          kwargs: { column: 'code', regex: '^[a-z]+$' },
        },
        { expectation_type: 'expect_column_values_to_not_be_null', kwargs: { column: 'b', mostly: 0.8 } },
        { expectation_type: 'expect_column_values_to_be_unique', kwargs: { column: 'code' } },
      ],
    });
    // Pair: row 4 has no b (missing); of 4 compared rows, row 1 (2 > 3) fails: 75% pass.
    expect(r.results[0]).toMatchObject({
      success: true,
      result: { missing_count: 1, unexpected_count: 1, unexpected_percent: 25 },
    });
    expect(r.results[0]!.result.partial_unexpected_rows).toEqual([{ row: 1, values: { a: 2, b: 3 } }]);
    expect(r.results[1]).toMatchObject({
      success: false,
      result: { unexpected_count: 1, partial_unexpected_list: ['xx1'] },
    });
    expect(r.results[2]).toMatchObject({
      success: true,
      result: { unexpected_count: 1, unexpected_percent: 20 },
    });
    // 'ab' twice: both rows are unexpected.
    expect(r.results[3]).toMatchObject({
      success: false,
      result: { unexpected_count: 2, partial_unexpected_list: ['ab'] },
    });
    expect(r.statistics).toEqual({
      evaluated_expectations: 4,
      successful_expectations: 2,
      unsuccessful_expectations: 2,
      success_percent: 50,
    });
  });
});
