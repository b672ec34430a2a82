// The DuckDB paths against the in-memory ones on the same data: the same report, number for number.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeDriftDuckDB } from '../../src/statistics/drift-duckdb.js';
import { computeDrift } from '../../src/statistics/drift-memory.js';
import type { ColumnDrift, DriftOptions, DriftReport } from '../../src/statistics/drift-types.js';
import { computeFairnessDuckDB } from '../../src/statistics/fairness-duckdb.js';
import { computeFairness } from '../../src/statistics/fairness-memory.js';
import { prng } from '../support/prng.js';

type Table = Record<string, unknown[]>;

function randomTable(seed: number, rows: number, shift: number): Table {
  const rnd = prng(seed);
  const t: Table = { a: [], b: [], c: [], d: [], e: [] };
  for (let i = 0; i < rows; i++) {
    t.a?.push(i % 97 === 0 ? null : rnd() * 10 + shift); // continuous, a few nulls
    t.b?.push(Math.round((rnd() * 20 + shift * 5) * 2) / 2); // many ties
    t.c?.push(['x', 'y', 'z', 'w"q'][Math.floor(rnd() * (3 + shift))] ?? 'x');
    t.d?.push(Math.floor(rnd() * 4));
    // Not yes/no: DuckDB's CSV sniffer would read those as BOOLEAN.
    t.e?.push(rnd() < 0.3 + shift / 10 ? 'hi' : 'lo');
  }
  return t;
}

async function load(conn: DuckDBConnection, name: string, t: Table): Promise<void> {
  await conn.run(`CREATE TABLE ${name} (a DOUBLE, b DOUBLE, c VARCHAR, d INTEGER, e VARCHAR)`);
  const app = await conn.createAppender(name);
  for (let i = 0; i < (t.a?.length ?? 0); i++) {
    const a = t.a?.[i];
    if (a === null) app.appendNull();
    else app.appendDouble(a as number);
    app.appendDouble(t.b?.[i] as number);
    app.appendVarchar(t.c?.[i] as string);
    app.appendInteger(t.d?.[i] as number);
    app.appendVarchar(t.e?.[i] as string);
    app.endRow();
  }
  app.closeSync();
}

function expectSameColumn(x: ColumnDrift, y: ColumnDrift): void {
  expect(y.method).toBe(x.method);
  expect([y.referenceRows, y.currentRows, y.drifted]).toEqual([x.referenceRows, x.currentRows, x.drifted]);
  expect(y.detail).toEqual(x.detail);
  // Sums run in a different order in SQL: equal to ~1e-12 relative, not bit for bit.
  expect(y.statistic).toBeCloseTo(x.statistic as number, 10);
  if (x.pValue !== undefined) expect(y.pValue).toBeCloseTo(x.pValue, 12);
}

function expectSameReport(x: DriftReport, y: DriftReport): void {
  expect(y.columns.length).toBe(x.columns.length);
  for (const [i, c] of x.columns.entries()) expectSameColumn(c, y.columns[i] as ColumnDrift);
  expect(y.share).toBe(x.share);
}

let db: DuckDBInstance;
let conn: DuckDBConnection;
let dir: string;
const small = { ref: randomTable(1, 300, 0), cur: randomTable(2, 200, 0.5) };
const large = { ref: randomTable(3, 3000, 0), cur: randomTable(4, 2500, 0.2) };

beforeAll(async () => {
  db = await DuckDBInstance.create(':memory:');
  conn = await db.connect();
  await load(conn, 'small_ref', small.ref);
  await load(conn, 'small_cur', small.cur);
  await load(conn, 'large_ref', large.ref);
  await load(conn, 'large_cur', large.cur);
  dir = mkdtempSync(path.join(os.tmpdir(), 'falaj-stats-'));
});

afterAll(() => {
  conn.closeSync();
  rmSync(dir, { recursive: true, force: true });
});

const OPTION_SETS: DriftOptions[] = [
  {},
  { method: 'psi' },
  { method: 'psi', binning: 'quantile' },
  { method: 'psi', binning: 'equal-width', bins: 7 },
  { method: 'ks', perColumn: { c: { method: 'chisquare' }, e: { method: 'z' } } },
  { method: 'wasserstein', perColumn: { c: { method: 'linf' }, e: { method: 'jensenshannon' } } },
  { method: 'jensenshannon' },
];

describe('drift in DuckDB equals drift in memory', () => {
  for (const [label, data, prefix] of [
    ['≤ 1000 reference rows', small, 'small'],
    ['> 1000 reference rows', large, 'large'],
  ] as const) {
    it(`on random data, ${label}, for every method and binning`, async () => {
      for (const options of OPTION_SETS) {
        const mem = computeDrift(data.ref, data.cur, options);
        // Few ECDF bins force the refinement of almost every bin; many leave most bins exact from sums.
        for (const ecdfBins of [3, 64, 16_384]) {
          const sql = await computeDriftDuckDB(
            conn,
            { table: `${prefix}_ref` },
            { table: `${prefix}_cur` },
            { ...options, ecdfBins },
          );
          expectSameReport(mem, sql);
        }
      }
    });
  }

  it('reads Parquet and CSV files (paths passed as parameters)', async () => {
    const pq = path.join(dir, "ref 'quoted'.parquet");
    const csv = path.join(dir, 'cur.csv');
    // (COPY cannot take its target as a parameter; these are the test's own temp paths.)
    await conn.run(`COPY small_ref TO '${pq.replaceAll("'", "''")}' (FORMAT parquet)`);
    await conn.run(`COPY small_cur TO '${csv}' (HEADER)`);
    const fromFiles = await computeDriftDuckDB(conn, { parquet: pq }, { csv });
    expectSameReport(computeDrift(small.ref, small.cur), fromFiles);
  });
});

describe('DuckDB drift: bad input', () => {
  it('rejects a reference with zero rows', async () => {
    await conn.run('CREATE TABLE empty_ref AS SELECT * FROM small_ref LIMIT 0');
    await expect(computeDriftDuckDB(conn, { table: 'empty_ref' }, { table: 'small_cur' })).rejects.toThrow(
      /reference data has no rows/,
    );
  });

  it('names a column missing from the current data', async () => {
    await conn.run('CREATE TABLE cur_no_c AS SELECT a, b, d, e FROM small_cur');
    await expect(
      computeDriftDuckDB(conn, { table: 'small_ref' }, { table: 'cur_no_c' }),
    ).rejects.toMatchObject({
      code: 'FALAJ_DATA_INVALID',
      details: { column: 'c', side: 'current' },
    });
  });

  it('names a file it cannot read', async () => {
    await expect(
      computeDriftDuckDB(conn, { parquet: path.join(dir, 'nope.parquet') }, { table: 'small_cur' }),
    ).rejects.toMatchObject({
      code: 'FALAJ_DATA_INVALID',
    });
  });

  it('quotes identifiers: a table name cannot inject SQL', async () => {
    await expect(
      computeDriftDuckDB(conn, { table: 'small_ref"; DROP TABLE small_cur; --' }, { table: 'small_cur' }),
    ).rejects.toMatchObject({
      code: 'FALAJ_DATA_INVALID',
    });
    const still = await conn.runAndReadAll('SELECT count(*) FROM small_cur');
    expect(Number(still.getRowsJS()[0]?.[0])).toBe(200);
  });
});

describe('fairness in DuckDB equals fairness in memory', () => {
  const rnd = prng(9);
  const n = 5000;
  const t = {
    label: Array.from({ length: n }, () => (rnd() < 0.4 ? 1 : 0)),
    pred: Array.from({ length: n }, () => (rnd() < 0.35 ? 1 : 0)),
    region: Array.from({ length: n }, (_, i) => `r${i % 4}`),
    sex: Array.from({ length: n }, (_, i) => (i % 250 === 0 ? 'x' : i % 2 === 0 ? 'f' : 'm')),
  };
  const cols = { label: 'label', prediction: 'pred', sensitive: ['region', 'sex'] };

  beforeAll(async () => {
    await conn.run('CREATE TABLE preds (label INTEGER, pred BOOLEAN, region VARCHAR, sex VARCHAR)');
    const app = await conn.createAppender('preds');
    for (let i = 0; i < n; i++) {
      app.appendInteger(t.label[i] as number);
      app.appendBoolean(t.pred[i] === 1);
      app.appendVarchar(t.region[i] as string);
      app.appendVarchar(t.sex[i] as string);
      app.endRow();
    }
    app.closeSync();
  });

  it('gives the identical report, small groups included', async () => {
    const mem = computeFairness(t, cols);
    const sql = await computeFairnessDuckDB(conn, { table: 'preds' }, cols);
    expect(sql).toEqual(mem);
    expect(sql.smallGroups.length).toBeGreaterThan(0);
  });

  it('rejects labels that are not binary, naming the column and a value', async () => {
    await conn.run(
      'CREATE TABLE bad_preds AS SELECT CASE WHEN region = $1 THEN 2 ELSE label END AS label, pred, region, sex FROM preds',
      ['r1'],
    );
    await expect(computeFairnessDuckDB(conn, { table: 'bad_preds' }, cols)).rejects.toMatchObject({
      code: 'FALAJ_DATA_INVALID',
      details: { column: 'label', value: 2 },
    });
    await conn.run(
      'CREATE TABLE null_preds AS SELECT label, CASE WHEN region = $1 THEN NULL ELSE pred END AS pred, region, sex FROM preds',
      ['r2'],
    );
    await expect(computeFairnessDuckDB(conn, { table: 'null_preds' }, cols)).rejects.toMatchObject({
      details: { column: 'pred', value: null },
    });
  });

  it('names a missing column', async () => {
    await expect(
      computeFairnessDuckDB(conn, { table: 'preds' }, { ...cols, sensitive: ['age'] }),
    ).rejects.toThrow(/column 'age' is missing/);
  });
});
