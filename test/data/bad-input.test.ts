// Every bad file is refused with a clear error naming file, line and column where they apply,
// and leaves nothing behind: no version, no artifact row, no tag, no blob; the only new audit
// event is the recorded failure.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/dialects.js';
import { type DataTest, DS, peopleCsv, setupData } from './helpers.js';

const PARQUET_MAGIC = Buffer.from('PAR1');

const CASES: {
  name: string;
  file: string;
  bytes: () => string | Buffer;
  details: Record<string, unknown>;
  message: RegExp;
}[] = [
  {
    name: 'ragged rows',
    file: 'r.csv',
    bytes: () => 'a,b,c\n1,2,3\n4,5\n6,7,8\n',
    details: { line: 3, column: 3, expectedFields: 3, foundFields: 2 },
    message: /line 3: expected 3 fields, found 2/,
  },
  {
    name: 'a row with too many fields',
    file: 'r2.csv',
    bytes: () => 'a,b,c\n1,2,3\n4,5,6,7\n',
    details: { line: 3, column: 4 },
    message: /ragged/,
  },
  {
    name: 'unbalanced quotes',
    file: 'q.csv',
    bytes: () => 'a,b\n1,"x\n2,y\n',
    details: { line: 2 },
    message: /unbalanced quotes/,
  },
  {
    name: 'invalid UTF-8',
    file: 'u.csv',
    bytes: () => Buffer.concat([Buffer.from('a,b\n1,ok\n2,'), Buffer.from([0xff, 0xfe]), Buffer.from('\n')]),
    details: { line: 3 },
    message: /not valid UTF-8/,
  },
  { name: 'an empty file', file: 'e.csv', bytes: () => '', details: { line: 1 }, message: /is empty/ },
  {
    name: 'a header without rows',
    file: 'h.csv',
    bytes: () => 'a,b\n',
    details: { line: 2 },
    message: /no data rows/,
  },
  {
    name: 'a huge single line',
    file: 'big.csv',
    bytes: () => `a,b\n1,${'x'.repeat(3 * 1024 * 1024)}\n`,
    details: { line: 2 },
    message: /longer than 2097152 bytes/,
  },
  {
    name: 'a text file named .parquet',
    file: 'p.parquet',
    bytes: () => 'a,b\n1,2\n',
    details: {},
    message: /not a Parquet file/,
  },
  {
    name: 'a Parquet file named .csv',
    file: 'p.csv',
    bytes: () => Buffer.concat([PARQUET_MAGIC, Buffer.alloc(10, 1), PARQUET_MAGIC]),
    details: {},
    message: /is a Parquet file, not CSV/,
  },
  {
    name: 'binary data named .csv',
    file: 'b.csv',
    bytes: () => Buffer.from([1, 2, 0, 3, 0, 4, 5, 0]),
    details: {},
    message: /binary data/,
  },
  {
    name: 'malformed JSON lines',
    file: 'j.jsonl',
    bytes: () => '{"a": 1}\n{"a": 2\n',
    details: {},
    message: /malformed JSON/,
  },
  {
    name: 'a duplicated header name',
    file: 'd.csv',
    bytes: () => 'a,b,a\n1,2,3\n',
    details: { line: 1, column: 3 },
    message: /names 'a' twice/,
  },
];

describe.each(DIALECTS)('bad input on %s', (dialect) => {
  let d: DataTest;
  beforeAll(async () => {
    d = await setupData(dialect);
    await d.json('POST', DS, { name: 'people' });
    expect((await d.upload('people', 'people.csv', peopleCsv())).statusCode).toBe(201);
  });
  afterAll(async () => {
    await d?.close();
  });

  const blobs = () => {
    const root = path.join(d.t.sandbox.dataDir, 'artifacts');
    const walk = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? walk(path.join(dir, e.name)) : [e.name],
      );
    try {
      return walk(root).sort();
    } catch {
      return [];
    }
  };

  for (const c of CASES) {
    it(`refuses ${c.name} and changes nothing`, async () => {
      const before = await d.counts();
      const files = blobs();
      expect(files.length).toBeGreaterThan(0);
      const res = await d.upload('people', c.file, c.bytes());
      expect(res.statusCode, res.body).toBe(400);
      const error = res.json().error;
      expect(error.code).toBe('FALAJ_DATA_INVALID');
      expect(error.message).toMatch(c.message);
      expect(error.details).toMatchObject({ file: c.file, ...c.details });
      // The message never echoes a huge line back.
      expect(error.message.length).toBeLessThan(400);
      expect(await d.counts()).toEqual(before);
      expect(blobs()).toEqual(files);
      // No temp file survives either.
      expect(readdirSync(path.join(d.t.sandbox.dataDir, 'tmp'))).toEqual([]);
    });
  }

  it('reads a column with mixed values as text (whatever row the odd value is on) and says so', async () => {
    const rows = Array.from({ length: 30_000 }, (_, i) => `${i},x`);
    const res = await d.upload('people', 'mixed.csv', `a,b\n${rows.join('\n')}\nabc,y\n1.5,z\n`);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().schema[0]).toMatchObject({ name: 'a', type: 'VARCHAR' });
    expect(res.json().source.warnings).toEqual([expect.stringMatching(/column 'a' .* read as VARCHAR/)]);
  });

  it('keeps a late 1.5 in a column whose first rows are integers', async () => {
    const rows = Array.from({ length: 30_000 }, (_, i) => `${i}`);
    const res = await d.upload('people', 'late.csv', `a\n${rows.join('\n')}\n1.5\n`);
    expect(res.statusCode, res.body).toBe(201);
    const profile = (await d.json('GET', `${DS}/people/versions/latest/profile`)).json();
    expect(profile.columns[0]).toMatchObject({ type: 'DOUBLE', min: 0, max: 29_999 });
    expect(profile.columns[0].mean).toBeCloseTo((29_999 * 30_000) / 2 / 30_001 + 1.5 / 30_001, 9);
  });

  it('refuses a malformed suite whole, naming the expectation; a missing column fails only its expectation', async () => {
    const before = await d.counts();
    const bad = await d.json('PUT', `${DS}/people/suite`, {
      suite: { expectations: [{ expectation_type: 'expect_column_values_to_be_unique', kwargs: {} }] },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatchObject({
      code: 'FALAJ_INVALID_ARGUMENT',
      details: { expectation: 0, field: 'column' },
    });
    const unknown = await d.json('PUT', `${DS}/people/suite`, {
      suite: { expectations: [{ expectation_type: 'expect_magic', kwargs: {} }] },
    });
    expect(unknown.statusCode).toBe(400);
    expect(await d.counts()).toEqual(before);

    const res = await d.json('POST', `${DS}/people/versions/1/validate`, {
      suite: {
        expectations: [
          { expectation_type: 'expect_column_values_to_not_be_null', kwargs: { column: 'nope' } },
          { expectation_type: 'expect_column_values_to_not_be_null', kwargs: { column: 'id' } },
        ],
      },
    });
    expect(res.statusCode).toBe(200);
    const result = res.json();
    expect(result.success).toBe(false);
    expect(result.results[0].exception_info.exception_message).toMatch(
      /column 'nope' does not exist \(columns: id, email/,
    );
    expect(result.results[1].success).toBe(true);
  });

  it('refuses drift against a missing reference version', async () => {
    const res = await d.json('POST', `${DS}/people/versions/1/drift`, { reference: 'people@99' });
    expect(res.statusCode).toBe(404);
  });

  it('refuses an unknown extension before reading the body', async () => {
    const before = await d.counts();
    const res = await d.upload('people', 'data.xlsx', 'whatever');
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('FALAJ_INVALID_ARGUMENT');
    expect(await d.counts()).toEqual(before);
  });
});
