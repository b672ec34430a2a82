// Loading training data from CSV and Parquet through DuckDB: types, target inference, and
// an error naming the file, column or row for each kind of bad input.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FalajError } from '../../../src/core/errors.js';
import type { Column, Frame } from '../../../src/training/frame.js';
import { frameFromRecords, loadFrame, loadTrainingData } from '../../../src/training/load/index.js';

let dir: string;
const file = (name: string, text: string): string => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};

async function rejects(p: Promise<unknown>, code: string, text: RegExp): Promise<FalajError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(FalajError);
    expect((err as FalajError).code).toBe(code);
    expect((err as FalajError).message).toMatch(text);
    return err as FalajError;
  }
  throw new Error('expected a rejection');
}

function col(f: Frame, name: string): Column {
  const c = f.columns.find((x) => x.name === name);
  if (!c) throw new Error(`no column ${name}`);
  return c;
}

const MIXED = [
  'age,city,member,income,day,label',
  '34,Paris,true,52000.5,2024-01-02,yes',
  '51,,false,,2024-01-03,no',
  '29,Oslo,,61000,2024-01-04,yes',
  '42,Paris,true,48000,,no',
  '',
].join('\n');

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'falaj-load-'));
  const mixed = file('mixed.csv', MIXED);
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  // The same table as Parquet, written by DuckDB itself (path bound as a parameter).
  // Typed as the loader reads the CSV, with member a real BOOLEAN to exercise that path.
  await c.run(
    `CREATE TABLE t AS SELECT * REPLACE (CAST(member AS BOOLEAN) AS member)
     FROM read_csv($1, auto_type_candidates = ['DOUBLE', 'DATE', 'VARCHAR'])`,
    [mixed],
  );
  await c.run(`COPY t TO '${path.join(dir, 'mixed.parquet').replaceAll("'", "''")}' (FORMAT parquet)`);
  c.closeSync();
  db.closeSync();
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('loadTrainingData: column types', () => {
  it('reads numbers, booleans, text, dates and missing values column-wise', async () => {
    const { data, task, format, columns } = await loadTrainingData({
      path: path.join(dir, 'mixed.csv'),
      target: 'label',
    });
    expect(format).toBe('csv');
    expect(task).toBe('binary');
    expect(data.features.nRows).toBe(4);
    expect(data.features.columns.map((c) => c.name)).toEqual(['age', 'city', 'member', 'income', 'day']);
    expect(columns.map((c) => c.kind)).toEqual(['numeric', 'categorical', 'numeric', 'numeric', 'numeric']);
    const age = col(data.features, 'age');
    expect(age.kind === 'numeric' && [...age.values]).toEqual([34, 51, 29, 42]);
    const city = col(data.features, 'city');
    expect(city.kind === 'categorical' && city.levels).toEqual(['Oslo', 'Paris']);
    expect(city.kind === 'categorical' && [...city.codes]).toEqual([1, -1, 0, 1]);
    const member = col(data.features, 'member');
    expect(member.kind === 'numeric' && [...member.values]).toEqual([1, 0, Number.NaN, 1]);
    const income = col(data.features, 'income');
    expect(income.kind === 'numeric' && Number.isNaN(income.values[1])).toBe(true);
    const day = col(data.features, 'day');
    // Dates become epoch seconds: 2024-01-02T00:00:00Z.
    expect(day.kind === 'numeric' && day.values[0]).toBe(Date.UTC(2024, 0, 2) / 1000);
    expect(data.target).toMatchObject({ kind: 'classification', name: 'label', classes: ['no', 'yes'] });
    expect(data.target.kind === 'classification' && [...data.target.labels]).toEqual([1, 0, 1, 0]);
  });

  it('Parquet gives the same frame as the CSV it was written from', async () => {
    const a = await loadTrainingData({ path: path.join(dir, 'mixed.csv'), target: 'label' });
    const b = await loadTrainingData({ path: path.join(dir, 'mixed.parquet'), target: 'label' });
    expect(b.format).toBe('parquet');
    expect(b.data).toEqual(a.data);
  });

  it('honours features, exclude and weight', async () => {
    const p = file('w.csv', 'id,x,w,y\n1,0.5,2,1.5\n2,0.7,1,2.5\n3,0.1,0.5,0.5\n');
    const ex = await loadTrainingData({ path: p, target: 'y', exclude: ['id'], weight: 'w' });
    expect(ex.data.features.columns.map((c) => c.name)).toEqual(['x']);
    expect([...(ex.data.weights ?? [])]).toEqual([2, 1, 0.5]);
    expect(ex.task).toBe('regression');
    const sel = await loadTrainingData({ path: p, target: 'y', features: ['w', 'x'] });
    expect(sel.data.features.columns.map((c) => c.name)).toEqual(['w', 'x']);
    await rejects(
      loadTrainingData({ path: p, target: 'y', features: ['x', 'nope'] }),
      'FALAJ_DATA_INVALID',
      /feature column 'nope'.*id, x, w, y/,
    );
    await rejects(
      loadTrainingData({ path: p, target: 'y', weight: 'weight' }),
      'FALAJ_DATA_INVALID',
      /weight column 'weight'/,
    );
    await rejects(
      loadTrainingData({ path: p, target: 'y', features: ['y'] }),
      'FALAJ_INVALID_ARGUMENT',
      /'y'.*target/,
    );
    const neg = file('neg.csv', 'x,w,y\n1,1,a\n2,-1,b\n');
    await rejects(
      loadTrainingData({ path: neg, target: 'y', weight: 'w' }),
      'FALAJ_DATA_INVALID',
      /'w' is -1 at row 2/,
    );
  });

  it('reads a file whose name holds quotes (the path is a bound parameter)', async () => {
    const p = file(`it's "odd"; DROP.csv`, 'x,y\n1,a\n2,b\n');
    const { data } = await loadTrainingData({ path: p, target: 'y' });
    expect(data.features.nRows).toBe(2);
  });

  it('settles column types on the whole file when a late row breaks the sniffed type', async () => {
    const lines = ['x,y'];
    for (let i = 0; i < 30_000; i++) lines.push(`${i},${i % 2 ? 'a' : 'b'}`);
    lines.push('1.5,a');
    const p = file('late.csv', lines.join('\n'));
    const { data } = await loadTrainingData({ path: p, target: 'y' });
    const x = col(data.features, 'x');
    expect(x.kind === 'numeric' && x.values[30_000]).toBe(1.5);
    // Text after 30,000 numbers: the column is re-read as text rather than failing.
    lines.push('n/a,b');
    const q = file('late-text.csv', lines.join('\n'));
    const again = await loadTrainingData({ path: q, target: 'y' });
    const xt = col(again.data.features, 'x');
    expect(xt.kind === 'categorical' && xt.levels.includes('n/a')).toBe(true);
  });
});

describe('loadTrainingData: the target', () => {
  it('infers the task from the target type and sorts classes', async () => {
    const ints = file('ints.csv', 'x,y\n1,10\n2,2\n3,10\n4,2\n5,3\n');
    const a = await loadTrainingData({ path: ints, target: 'y' });
    expect(a.task).toBe('multiclass');
    expect(a.data.target.kind === 'classification' && a.data.target.classes).toEqual(['2', '3', '10']);
    const reg = await loadTrainingData({ path: ints, target: 'y', task: 'regression' });
    expect(reg.data.target.kind === 'regression' && [...reg.data.target.values]).toEqual([10, 2, 10, 2, 3]);
    const floats = file('floats.csv', 'x,y\n1,0.5\n2,1.5\n');
    expect((await loadTrainingData({ path: floats, target: 'y' })).task).toBe('regression');
    const many = file(
      'many.csv',
      ['x,y', ...Array.from({ length: 30 }, (_, i) => `${i},${i * 7}`)].join('\n'),
    );
    expect((await loadTrainingData({ path: many, target: 'y' })).task).toBe('regression');
    const bools = file('bools.csv', 'x,y\n1,true\n2,false\n');
    const b = await loadTrainingData({ path: bools, target: 'y' });
    expect(b.data.target.kind === 'classification' && b.data.target.classes).toEqual(['false', 'true']);
  });

  it('names the missing target column and lists the available ones', async () => {
    const e = await rejects(
      loadTrainingData({ path: path.join(dir, 'mixed.csv'), target: 'outcome' }),
      'FALAJ_DATA_INVALID',
      /target column 'outcome'.*age, city, member, income, day, label/,
    );
    expect(e.details).toMatchObject({ column: 'outcome' });
  });

  it('refuses a missing or NaN target naming the row, mixed types, and a single class', async () => {
    const nul = file('nul.csv', 'x,y\n1,a\n2,b\n3,\n');
    const e = await rejects(
      loadTrainingData({ path: nul, target: 'y' }),
      'FALAJ_DATA_INVALID',
      /'y' is missing at row 3/,
    );
    expect(e.details).toMatchObject({ column: 'y', row: 3 });
    const nan = file('nan.csv', 'x,y\n1,0.5\n2,nan\n3,1.5\n');
    await rejects(
      loadTrainingData({ path: nan, target: 'y' }),
      'FALAJ_DATA_INVALID',
      /'y' is missing \(NULL or NaN\) at row 2/,
    );
    const mixed = file('mixedy.csv', 'x,y\n1,1\n2,0\n3,maybe\n4,1\n');
    await rejects(
      loadTrainingData({ path: mixed, target: 'y' }),
      'FALAJ_DATA_INVALID',
      /mixes numbers and text: row 3/,
    );
    const single = file('single.csv', 'x,y\n1,a\n2,a\n');
    await rejects(
      loadTrainingData({ path: single, target: 'y' }),
      'FALAJ_DATA_INVALID',
      /single class \('a'\)/,
    );
    const text = file('text.csv', 'x,y\n1,a\n2,b\n');
    await rejects(
      loadTrainingData({ path: text, target: 'y', task: 'regression' }),
      'FALAJ_DATA_INVALID',
      /not a number at row 1/,
    );
    const empty = file('header-only.csv', 'x,y\n');
    await rejects(loadTrainingData({ path: empty, target: 'y' }), 'FALAJ_DATA_INVALID', /no data rows/);
  });
});

describe('files that are not what they say', () => {
  it('refuses content that does not match the extension, and missing files', async () => {
    const csvAsParquet = file('fake.parquet', 'x,y\n1,2\n');
    await rejects(
      loadTrainingData({ path: csvAsParquet, target: 'y' }),
      'FALAJ_DATA_INVALID',
      /not a Parquet file/,
    );
    const parquetBytes = (await import('node:fs')).readFileSync(path.join(dir, 'mixed.parquet'));
    const parquetAsCsv = path.join(dir, 'fake.csv');
    writeFileSync(parquetAsCsv, parquetBytes);
    await rejects(
      loadTrainingData({ path: parquetAsCsv, target: 'y' }),
      'FALAJ_DATA_INVALID',
      /is a Parquet file, not CSV/,
    );
    const binary = path.join(dir, 'binary.csv');
    writeFileSync(binary, Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0, 1, 2]));
    await rejects(
      loadTrainingData({ path: binary, target: 'y' }),
      'FALAJ_DATA_INVALID',
      /not a CSV text file/,
    );
    const truncated = path.join(dir, 'truncated.parquet');
    writeFileSync(truncated, Buffer.concat([parquetBytes.subarray(0, 40), Buffer.from('PAR1')]));
    await rejects(
      loadTrainingData({ path: truncated, target: 'y' }),
      'FALAJ_DATA_INVALID',
      /cannot read .* as PARQUET/,
    );
    await rejects(
      loadTrainingData({ path: path.join(dir, 'absent.csv'), target: 'y' }),
      'FALAJ_DATA_INVALID',
      /cannot read/,
    );
    await rejects(
      loadTrainingData({ path: path.join(dir, 'data.xlsx'), target: 'y' }),
      'FALAJ_INVALID_ARGUMENT',
      /format/,
    );
  });
});

describe('loadFrame and frameFromRecords', () => {
  it('loadFrame reads all or the named columns', async () => {
    const f = await loadFrame(path.join(dir, 'mixed.parquet'), { columns: ['city', 'age'] });
    expect(f.columns.map((c) => c.name)).toEqual(['city', 'age']);
    expect(f.nRows).toBe(4);
    expect((await loadFrame(path.join(dir, 'mixed.csv'))).columns).toHaveLength(6);
    await rejects(
      loadFrame(path.join(dir, 'mixed.csv'), { columns: ['zip'] }),
      'FALAJ_DATA_INVALID',
      /'zip'/,
    );
  });

  it('frameFromRecords infers kinds, honours forced kinds and names bad cells', () => {
    const f = frameFromRecords([
      { a: 1, b: 'x', c: true },
      { a: null, b: 'w', d: 2 },
      { a: 2.5, b: null, c: false },
    ]);
    expect(f.columns.map((c) => [c.name, c.kind])).toEqual([
      ['a', 'numeric'],
      ['b', 'categorical'],
      ['c', 'numeric'],
      ['d', 'numeric'],
    ]);
    const b = col(f, 'b');
    expect(b.kind === 'categorical' && [b.levels, [...b.codes]]).toEqual([
      ['w', 'x'],
      [1, 0, -1],
    ]);
    const c = col(f, 'c');
    expect(c.kind === 'numeric' && [...c.values]).toEqual([1, Number.NaN, 0]);
    const forced = frameFromRecords([{ n: '3.5', k: 7 }], { kinds: { n: 'numeric', k: 'categorical' } });
    expect(col(forced, 'n')).toMatchObject({ kind: 'numeric' });
    expect(col(forced, 'k')).toMatchObject({ kind: 'categorical', levels: ['7'] });
    expect(() => frameFromRecords([{ n: 1 }, { n: 'abc' }], { kinds: { n: 'numeric' } })).toThrow(
      /record 2 has 'abc' in numeric column 'n'/,
    );
    expect(() => frameFromRecords([{ n: { deep: 1 } }])).toThrow(/record 1 has a object in column 'n'/);
    expect(frameFromRecords([{ a: 1 }], { columns: ['a', 'missing'] }).columns[1]).toMatchObject({
      kind: 'numeric',
    });
  });
});
