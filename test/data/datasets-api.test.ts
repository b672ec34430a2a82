// The whole path through the API, on each dialect: create a dataset, upload a CSV, read its
// schema and profile, take the suggested suite, set it, upload versions that pass and fail,
// override, tags, drift, download.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertUsableForTraining } from '../../src/data/training-gate.js';
import { DIALECTS } from '../support/dialects.js';
import { type DataTest, DS, peopleCsv, setupData } from './helpers.js';

describe.each(DIALECTS)('datasets API on %s', (dialect) => {
  let d: DataTest;
  beforeAll(async () => {
    d = await setupData(dialect);
  });
  afterAll(async () => {
    await d?.close();
  });

  it('creates a dataset once per name and lists it; viewers cannot create', async () => {
    expect((await d.json('POST', DS, { name: 'people', description: 'customers' })).statusCode).toBe(201);
    const again = await d.json('POST', DS, { name: 'people' });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('FALAJ_CONFLICT');
    expect((await d.json('POST', DS, { name: 'nope' }, d.viewer)).statusCode).toBe(403);
    const list = (await d.json('GET', DS, undefined, d.viewer)).json();
    expect(list.datasets).toEqual([
      expect.objectContaining({ name: 'people', description: 'customers', latestVersion: null }),
    ]);
  });

  it('ingests a CSV into a version with schema, digest, profile and detected PII tags', async () => {
    const res = await d.upload('people', 'people.csv', peopleCsv());
    expect(res.statusCode, res.body).toBe(201);
    const v = res.json();
    expect(v).toMatchObject({
      dataset: 'people',
      version: 1,
      rowCount: 40,
      parentVersion: null,
      schemaDiff: null,
      status: 'unvalidated',
      usableForTraining: true,
    });
    expect(v.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(v.source).toMatchObject({ fileName: 'people.csv', format: 'csv' });
    expect(v.schema.map((c: { name: string; type: string }) => [c.name, c.type])).toEqual([
      ['id', 'DOUBLE'],
      ['email', 'VARCHAR'],
      ['age', 'DOUBLE'],
      ['score', 'DOUBLE'],
      ['limit_', 'DOUBLE'],
      ['joined', 'DATE'],
      ['city', 'VARCHAR'],
    ]);
    expect(v.schema.find((c: { name: string }) => c.name === 'email').tags).toEqual(['pii', 'email']);
    expect(v.schema.find((c: { name: string }) => c.name === 'city').tags).toEqual([]);

    const profile = (await d.json('GET', `${DS}/people/versions/1/profile`, undefined, d.viewer)).json();
    const score = profile.columns.find((c: { name: string }) => c.name === 'score');
    // Rows 10, 20, 30, 40 have no score.
    expect(score).toMatchObject({ count: 36, nulls: 4, kind: 'numeric' });
    expect(score.histogram.counts.reduce((a: number, b: number) => a + b, 0)).toBe(36);
    const city = profile.columns.find((c: { name: string }) => c.name === 'city');
    expect(city.topValues).toEqual([
      { value: 'Muscat', count: 14 },
      { value: 'Doha', count: 13 },
      { value: 'Dubai', count: 13 },
    ]);
  });

  it('downloads the version as the Parquet file its digest names', async () => {
    const v = (await d.json('GET', `${DS}/people/versions/1`, undefined, d.viewer)).json();
    const res = await d.t.app.inject({
      method: 'GET',
      url: `${DS}/people/versions/1/data`,
      headers: { authorization: `Bearer ${d.viewer}` },
    });
    expect(res.statusCode).toBe(200);
    expect(res.rawPayload.subarray(0, 4).toString()).toBe('PAR1');
    const { createHash } = await import('node:crypto');
    expect(createHash('sha256').update(res.rawPayload).digest('hex')).toBe(v.digest);
  });

  it('keeps a version readable when its listed artifact file is deleted', async () => {
    const v = (await d.json('GET', `${DS}/people/versions/1`, undefined, d.viewer)).json();
    const del = await d.t.request(
      'DELETE',
      '/api/v1/projects/alpha/artifacts/files/datasets/people/v1.parquet',
      {
        token: d.t.adminToken,
        headers: { 'x-falaj-project': 'alpha' },
      },
    );
    expect(del.statusCode, del.body).toBe(204);
    const res = await d.t.app.inject({
      method: 'GET',
      url: `${DS}/people/versions/1/data`,
      headers: { authorization: `Bearer ${d.viewer}` },
    });
    expect(res.statusCode).toBe(200);
    const { createHash } = await import('node:crypto');
    expect(createHash('sha256').update(res.rawPayload).digest('hex')).toBe(v.digest);
  });

  it('suggests a suite that the version passes, sets it, and validates later versions against it', async () => {
    const suggested = (
      await d.json('GET', `${DS}/people/versions/1/suggested-suite`, undefined, d.viewer)
    ).json();
    expect(suggested.expectations.length).toBeGreaterThan(10);
    const check = (await d.json('POST', `${DS}/people/versions/1/validate`, { suite: suggested })).json();
    expect(check.success).toBe(true);

    // Edited: ages stay under 100; limit_ above age.
    const suite = {
      name: 'people',
      expectations: [
        {
          expectation_type: 'expect_column_values_to_be_between',
          kwargs: { column: 'age', min_value: 0, max_value: 100 },
        },
        {
          expectation_type: 'expect_column_pair_values_a_to_be_greater_than_b',
          kwargs: { column_A: 'limit_', column_B: 'age' },
        },
        {
          expectation_type: 'expect_column_values_to_match_regex',
          kwargs: { column: 'email', regex: '@example\\.com$' },
        },
      ],
    };
    expect((await d.json('PUT', `${DS}/people/suite`, { suite })).statusCode).toBe(200);

    const good = await d.upload('people', 'people-2.csv', peopleCsv(50));
    expect(good.statusCode, good.body).toBe(201);
    expect(good.json()).toMatchObject({ version: 2, parentVersion: 1, status: 'passed', rowCount: 50 });

    const bad = await d.upload('people', 'people-3.csv', peopleCsv(30, 75));
    expect(bad.statusCode, bad.body).toBe(201);
    const v3 = bad.json();
    expect(v3).toMatchObject({ version: 3, status: 'failed', usableForTraining: false });
    const between = v3.validation.results[0];
    expect(between.success).toBe(false);
    // age = 20 + (i*7 % 40) + 75 > 100 unless i*7 % 40 ≤ 5.
    const expected = Array.from({ length: 30 }, (_, k) => 95 + (((k + 1) * 7) % 40)).filter(
      (a) => a > 100,
    ).length;
    expect(between.result.unexpected_count).toBe(expected);
    expect(between.result.unexpected_percent).toBeCloseTo((100 * expected) / 30, 10);
    expect(between.result.partial_unexpected_rows[0]).toEqual({ row: 0, values: { age: 102 } });
    expect(v3.validation.statistics).toMatchObject({
      evaluated_expectations: 3,
      unsuccessful_expectations: 1,
    });

    const db = d.t.svc.store.db;
    const projectId = (
      await db.selectFrom('projects').select('id').where('name', '=', 'alpha').executeTakeFirstOrThrow()
    ).id;
    await expect(assertUsableForTraining(db, projectId, 'people', 3)).rejects.toMatchObject({
      code: 'FALAJ_DATA_NOT_USABLE',
    });
    await expect(assertUsableForTraining(db, projectId, 'people', 2)).resolves.toMatchObject({
      version: 2,
      status: 'passed',
    });

    expect(
      (await d.json('POST', `${DS}/people/versions/3/override`, { reason: 'known outliers' }, d.editor))
        .statusCode,
    ).toBe(403);
    const over = await d.json(
      'POST',
      `${DS}/people/versions/3/override`,
      { reason: 'known outliers' },
      d.admin,
    );
    expect(over.statusCode, over.body).toBe(200);
    expect(over.json()).toMatchObject({ usableForTraining: true, override: { reason: 'known outliers' } });
    await expect(assertUsableForTraining(db, projectId, 'people', 3)).resolves.toMatchObject({
      overridden: true,
    });
    const audit = await db
      .selectFrom('audit_events')
      .select(['action', 'details'])
      .where('action', '=', 'dataset.version.override')
      .execute();
    expect(audit).toHaveLength(1);
    expect(
      (await d.json('POST', `${DS}/people/versions/2/override`, { reason: 'no need' }, d.admin)).statusCode,
    ).toBe(409);
  });

  it('reports schema changes against the parent version', async () => {
    const csv = 'id,email,age,city\n1,a@b.co,x1,Dubai\n2,c@d.co,x2,Doha\n';
    const res = await d.upload('people', 'changed.csv', csv);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().schemaDiff).toEqual({
      added: [],
      removed: [
        { name: 'score', type: 'DOUBLE' },
        { name: 'limit_', type: 'DOUBLE' },
        { name: 'joined', type: 'DATE' },
      ],
      retyped: [{ name: 'age', from: 'DOUBLE', to: 'VARCHAR' }],
    });
    // The suite names columns this version lacks: those expectations fail, saying why.
    const v = res.json();
    expect(v.status).toBe('failed');
    const missing = v.validation.results[1];
    expect(missing.success).toBe(false);
    expect(missing.exception_info.exception_message).toMatch(/column 'limit_' does not exist/);
  });

  it('keeps user tags over detection and carries them to later versions', async () => {
    const set = await d.json('PUT', `${DS}/people/columns/email/tags`, { tags: ['contact'] });
    expect(set.statusCode, set.body).toBe(200);
    expect(
      (await d.json('PUT', `${DS}/people/columns/city/tags`, { tags: ['pii', 'location'] })).statusCode,
    ).toBe(200);
    await d.json('PUT', `${DS}/people/suite`, { suite: null });
    const res = await d.upload('people', 'again.csv', peopleCsv(5));
    expect(res.statusCode, res.body).toBe(201);
    const tags = Object.fromEntries(
      res.json().schema.map((c: { name: string; tags: string[] }) => [c.name, c.tags]),
    );
    expect(tags.email).toEqual(['contact']);
    expect(tags.city).toEqual(['pii', 'location']);
    expect(res.json().status).toBe('unvalidated');
    const events = await d.t.svc.store.db
      .selectFrom('audit_events')
      .select('action')
      .where('action', '=', 'dataset.column.tags')
      .execute();
    expect(events).toHaveLength(2);
  });

  it('computes drift between two versions', async () => {
    const res = await d.json(
      'POST',
      `${DS}/people/versions/3/drift`,
      { reference: 'people@2', columns: ['age', 'city'] },
      d.viewer,
    );
    expect(res.statusCode, res.body).toBe(200);
    const report = res.json();
    const age = report.columns.find((c: { column: string }) => c.column === 'age');
    expect(age).toMatchObject({ method: 'ks', drifted: true });
    expect(report.numberOfColumns).toBe(2);
  });

  it('computes fairness of a version’s predictions (selection rates worked by hand)', async () => {
    // Group A: 10 rows, 6 predicted positive; group B: 10 rows, 3 predicted positive.
    const rows = ['grp,label,pred'];
    for (let i = 0; i < 10; i++) rows.push(`A,${i % 2},${i < 6 ? 1 : 0}`);
    for (let i = 0; i < 10; i++) rows.push(`B,${i % 2},${i < 3 ? 1 : 0}`);
    expect((await d.json('POST', DS, { name: 'scored' })).statusCode).toBe(201);
    expect((await d.upload('scored', 'scored.csv', `${rows.join('\n')}\n`)).statusCode).toBe(201);
    const res = await d.json(
      'POST',
      `${DS}/scored/versions/1/fairness`,
      { prediction: 'pred', label: 'label', sensitive: ['grp'] },
      d.viewer,
    );
    expect(res.statusCode, res.body).toBe(200);
    const report = res.json();
    expect(report.fairlearn.demographicParityDifference).toBeCloseTo(0.3, 12);
    expect(report.fairlearn.demographicParityRatio).toBeCloseTo(0.5, 12);
    expect(report.fourFifthsRule.passed).toBe(false);
    const missing = await d.json('POST', `${DS}/scored/versions/1/fairness`, {
      prediction: 'nope',
      label: 'label',
      sensitive: ['grp'],
    });
    expect(missing.json().error.code).toBe('FALAJ_DATA_INVALID');
  });

  it('ingests Parquet and JSON lines', async () => {
    await d.json('POST', DS, { name: 'events' });
    const jsonl = '{"a": 1, "b": "x"}\n{"a": 2.5, "b": "y", "c": true}\n';
    const res = await d.upload('events', 'e.jsonl', jsonl);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().schema.map((c: { type: string }) => c.type)).toEqual(['DOUBLE', 'VARCHAR', 'BOOLEAN']);
    const parquet = await d.t.app.inject({
      method: 'GET',
      url: `${DS}/people/versions/1/data`,
      headers: { authorization: `Bearer ${d.viewer}` },
    });
    const again = await d.upload('events', 'copy.parquet', parquet.rawPayload);
    expect(again.statusCode, again.body).toBe(201);
    expect(again.json()).toMatchObject({ rowCount: 40, source: { format: 'parquet' } });
  });
});
