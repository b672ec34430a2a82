import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FalajError } from '../../../src/core/errors.js';
import { openStore, type Store } from '../../../src/store/store.js';
import {
  parseFilter,
  parseOrderBy,
  type RunViewType,
  searchRunIds,
} from '../../../src/tracking/search/index.js';
import { createSandbox, DIALECTS, type Sandbox } from '../../support/dialects.js';
import {
  EXP_A,
  EXP_B,
  EXP_OTHER,
  expectedSearch,
  type FixtureRun,
  insertFixture,
  makeRuns,
  OTHER_PROJECT,
  PROJECT,
  prng,
} from './fixture.js';

/** Filters over every entity and comparator; each is checked against the reference model. */
const FILTERS = [
  '',
  'metrics.auc > 0.5',
  'metrics.auc >= 0.5',
  'metrics.auc = 0.5',
  'metrics.auc != 0.5',
  'metrics.auc < 0.5',
  'metrics.auc <= 0.5',
  'metrics.auc > 1e308',
  'metrics.auc < -1e308',
  'metrics.auc = 1e999',
  'metrics.auc = -1e999',
  'metrics.auc != 1e999',
  'metrics.auc > -1e999',
  'metrics.loss != 3',
  'metrics.loss <= 5 AND metrics.auc > 0.2',
  'metric.`f1 score` >= 0.3',
  'metrics."f1 score" < .5',
  'metrics.missing > 0',
  "metrics.auc > 0.1 and metrics.auc < 0.9 and params.depth != '3'",
  "params.depth = '6'",
  "params.depth != '6'",
  "params.depth IN ('1', '2', '3')",
  "params.depth NOT IN ('1', '2', '3')",
  "params.model LIKE 'Logistic%'",
  "params.model ILIKE 'logistic%'",
  "params.model LIKE '%regression'",
  "params.model ILIKE '%REGRESSION'",
  "params.model ILIKE '50\\%\\_OFF'",
  "params.model ILIKE '50\\%_OF_'",
  "params.model ILIKE '%\\%%'",
  "params.model LIKE 'xgb*?[x]'",
  "params.model LIKE 'xgb_?[%'",
  "params.model LIKE 'xgb%'",
  "params.model LIKE '50\\%\\_off'",
  "params.model LIKE '50\\%_of_'",
  "params.model LIKE '5_\\%%'",
  "params.model = 'back\\slash'",
  "params.model = 'back\\\\slash'",
  "params.model LIKE 'back\\\\%'",
  "params.model LIKE 'back\\\\\\\\%'",
  "params.model = 'it''s'",
  'params.model = "it\'s"',
  "params.model = 'it\\'s'",
  "params.model = 'naïve'",
  "params.model LIKE 'na_ve'",
  "param.lr LIKE '0.0%' and parameters.depth = '5'",
  "tags.team = 'vision'",
  "tags.team ILIKE 'VISION'",
  "tags.team LIKE 'V%'",
  "tags.team != 'vision'",
  'tags."mlflow.source" = \'LOCAL\'',
  "tags.`mlflow.source` LIKE 'git/%'",
  "tags.`mlflow.source` NOT IN ('LOCAL', 'git/repo-1')",
  "tag.team IN ('Vision')",
  "attributes.status = 'FINISHED'",
  "attributes.status != 'FINISHED'",
  "attributes.status IN ('FAILED', 'KILLED')",
  "attributes.status NOT IN ('FAILED', 'KILLED')",
  "attribute.run_name LIKE 'alpha%'",
  "attr.run_name ILIKE 'alpha%'",
  "run.run_name LIKE '%a\\%%'",
  "status = 'RUNNING'",
  "attributes.user_id = 'alice'",
  "attributes.artifact_uri LIKE 's3://bucket/1%'",
  `attributes.start_time >= ${1_700_000_000_000 + 5000}`,
  `attributes.start_time < ${1_700_000_000_000 + 3000}`,
  `attributes.start_time = ${1_700_000_000_000}`,
  `attributes.end_time > ${1_700_000_100_010}`,
  `attributes.end_time != 0`,
  `attributes.created > 0`,
  "attributes.experiment_id = 'exp-b'",
  "metrics.auc > 0 AnD params.model ILIKE '%forest' aNd tags.team = 'vision'",
];

const ORDERS: string[][] = [
  [],
  ['metrics.auc DESC'],
  ['metrics.auc ASC'],
  ['metrics.auc'],
  ['metrics.loss desc', 'metrics.auc asc'],
  ['metrics.`f1 score` DESC'],
  ['params.depth'],
  ['params.depth DESC'],
  ['params.model ASC'],
  ['tags.team DESC', 'params.depth ASC'],
  ['attributes.start_time ASC'],
  ['attributes.start_time'],
  ['attributes.end_time DESC'],
  ['attributes.end_time ASC'],
  ['attributes.run_name DESC'],
  ['attributes.status', 'metrics.auc DESC'],
  ['attributes.run_id DESC'],
  ['start_time DESC'],
];

describe.each(DIALECTS)('searchRunIds on %s', (dialect) => {
  let sb: Sandbox;
  let store: Store;
  const runs: FixtureRun[] = makeRuns();
  const search = (q: {
    filter?: string;
    orderBy?: string[];
    maxResults?: number;
    pageToken?: string;
    viewType?: RunViewType;
    experimentIds?: string[];
    projectId?: string;
  }) =>
    searchRunIds(store.db, store.dialect, {
      projectId: q.projectId ?? PROJECT,
      experimentIds: q.experimentIds ?? [EXP_A, EXP_B],
      maxResults: q.maxResults ?? 1000,
      viewType: q.viewType ?? 'ACTIVE_ONLY',
      ...(q.filter !== undefined ? { filter: q.filter } : {}),
      ...(q.orderBy ? { orderBy: q.orderBy } : {}),
      ...(q.pageToken ? { pageToken: q.pageToken } : {}),
    });
  const expected = (q: {
    filter?: string;
    orderBy?: string[];
    viewType?: RunViewType;
    experimentIds?: string[];
    projectId?: string;
  }) =>
    expectedSearch(runs, {
      projectId: q.projectId ?? PROJECT,
      experimentIds: q.experimentIds ?? [EXP_A, EXP_B],
      clauses: parseFilter(q.filter),
      order: parseOrderBy(q.orderBy),
      viewType: q.viewType ?? 'ACTIVE_ONLY',
    });

  beforeAll(async () => {
    sb = await createSandbox(dialect);
    store = await openStore({ dataDir: sb.dataDir, databaseUrl: sb.databaseUrl });
    await insertFixture(store.db, runs);
  });
  afterAll(async () => {
    await store?.close();
    await sb?.dispose();
  });

  it.each(FILTERS)('filter %j returns exactly the expected runs', async (filter) => {
    const want = expected({ filter });
    const got = await search({ filter });
    expect(got.runIds).toEqual(want);
    expect(got.nextPageToken).toBeUndefined();
  });

  it('the fixture makes the filters meaningful (most match some runs, not all)', () => {
    const all = expected({});
    const sizes = FILTERS.map((filter) => expected({ filter }).length);
    expect(sizes.filter((n) => n > 0 && n < all.length).length).toBeGreaterThan(FILTERS.length * 0.7);
  });

  it.each(ORDERS.map((o) => [o]))(
    'order_by %j sorts as MLflow does, missing and NaN last',
    async (orderBy) => {
      for (const viewType of ['ALL', 'ACTIVE_ONLY'] as const) {
        const got = await search({ orderBy, viewType });
        expect(got.runIds).toEqual(expected({ orderBy, viewType }));
      }
    },
  );

  it.each([
    ['metrics.auc > 0.2', ['metrics.auc DESC']],
    ['metrics.auc != 0.5', ['metrics.auc ASC']],
    ['metrics.auc != 0.5 and metrics.loss < 100', ['metrics.loss DESC', 'metrics.auc DESC']],
    ["params.depth != '3'", ['params.depth DESC']],
    ["tags.team ILIKE 'v%' and params.model LIKE '%'", ['tags.team', 'params.model DESC']],
    ["metrics.auc > 0 and params.depth IN ('2', '6')", ['metrics.auc DESC', 'params.depth']],
  ])('filter %j ordered by %j (the order reuses the filter join)', async (filter, orderBy) => {
    for (const viewType of ['ALL', 'ACTIVE_ONLY'] as const) {
      expect((await search({ filter, orderBy, viewType })).runIds).toEqual(
        expected({ filter, orderBy, viewType }),
      );
    }
  });

  it('puts values first, then NaN, then runs without the metric, in both directions', async () => {
    const byId = new Map(runs.map((r) => [r.id, r]));
    for (const dir of ['ASC', 'DESC']) {
      const ids = (await search({ orderBy: [`metrics.auc ${dir}`], viewType: 'ALL' })).runIds;
      const kinds = ids.map((id) => {
        const v = byId.get(id)!.metrics['auc'];
        return v === undefined ? 'missing' : Number.isNaN(v) ? 'nan' : 'value';
      });
      const firstNan = kinds.indexOf('nan');
      const firstMissing = kinds.indexOf('missing');
      expect(firstNan).toBeGreaterThan(0);
      expect(firstMissing).toBeGreaterThan(firstNan);
      expect(kinds.slice(0, firstNan).every((k) => k === 'value')).toBe(true);
      expect(kinds.slice(firstNan, firstMissing).every((k) => k === 'nan')).toBe(true);
      expect(kinds.slice(firstMissing).every((k) => k === 'missing')).toBe(true);
      const values = ids.slice(0, firstNan).map((id) => byId.get(id)!.metrics['auc']!);
      expect(values[0]).toBe(dir === 'ASC' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY);
    }
  });

  it('pages through every run exactly once, in order, for several orders', async () => {
    for (const orderBy of [[], ['metrics.auc DESC'], ['params.depth ASC', 'tags.team DESC']]) {
      for (const filter of ['', "metrics.loss >= 0 and tags.team ILIKE 'v%'"]) {
        const want = expected({ filter, orderBy, viewType: 'ALL' });
        const got: string[] = [];
        let pageToken: string | undefined;
        let pages = 0;
        do {
          const page = await search({ filter, orderBy, viewType: 'ALL', maxResults: 4, pageToken });
          expect(page.runIds.length).toBeLessThanOrEqual(4);
          got.push(...page.runIds);
          pageToken = page.nextPageToken;
          pages++;
        } while (pageToken && pages < 100);
        expect(got).toEqual(want);
        expect(new Set(got).size).toBe(got.length);
      }
    }
  });

  it('an exact last page has no next token', async () => {
    const n = expected({}).length;
    const page = await search({ maxResults: n });
    expect(page.runIds.length).toBe(n);
    expect(page.nextPageToken).toBeUndefined();
  });

  it('refuses a page token replayed with another query, or a forged one', async () => {
    const first = await search({ filter: 'metrics.auc > 0', maxResults: 2 });
    expect(first.nextPageToken).toBeDefined();
    const token = first.nextPageToken!;
    // The same query (another max_results is fine) continues.
    const next = await search({ filter: 'metrics.auc > 0', maxResults: 3, pageToken: token });
    expect(next.runIds[0]).toBe(expected({ filter: 'metrics.auc > 0' })[2]);
    for (const other of [
      { filter: 'metrics.auc > 1' },
      { filter: 'metrics.auc > 0', orderBy: ['metrics.auc DESC'] },
      { filter: 'metrics.auc > 0', viewType: 'ALL' as const },
      { filter: 'metrics.auc > 0', experimentIds: [EXP_A] },
      { filter: 'metrics.auc > 0', projectId: OTHER_PROJECT },
    ]) {
      await expect(search({ ...other, pageToken: token })).rejects.toMatchObject({
        code: 'FALAJ_INVALID_ARGUMENT',
      });
    }
    for (const bad of [
      'not a token!',
      'eyJ2IjoxfQ',
      Buffer.from('{"v":1,"o":-5,"f":"x"}').toString('base64url'),
      Buffer.from('[1,2]').toString('base64url'),
      'A'.repeat(600),
    ]) {
      await expect(search({ filter: 'metrics.auc > 0', pageToken: bad })).rejects.toBeInstanceOf(FalajError);
    }
  });

  it('view types select active, deleted or all runs', async () => {
    const deleted = runs.filter((r) => r.projectId === PROJECT && r.lifecycle === 'deleted').map((r) => r.id);
    const active = await search({ viewType: 'ACTIVE_ONLY' });
    const del = await search({ viewType: 'DELETED_ONLY' });
    const all = await search({ viewType: 'ALL' });
    expect([...del.runIds].sort()).toEqual([...deleted].sort());
    expect(active.runIds.some((id) => deleted.includes(id))).toBe(false);
    expect(all.runIds.length).toBe(active.runIds.length + del.runIds.length);
    expect(del.runIds).toEqual(expected({ viewType: 'DELETED_ONLY' }));
  });

  it("never returns another project's runs", async () => {
    const others = new Set(runs.filter((r) => r.projectId === OTHER_PROJECT).map((r) => r.id));
    for (const experimentIds of [[EXP_A, EXP_B, EXP_OTHER], [EXP_OTHER]]) {
      for (const filter of ['', "attributes.experiment_id = 'exp-other'", 'metrics.auc > -1e999']) {
        const got = await search({ experimentIds, filter, viewType: 'ALL' });
        expect(got.runIds.some((id) => others.has(id))).toBe(false);
      }
    }
    // And the other project sees its own (and only its own).
    const own = await search({
      projectId: OTHER_PROJECT,
      experimentIds: [EXP_A, EXP_OTHER],
      viewType: 'ALL',
    });
    expect(new Set(own.runIds)).toEqual(others);
  });

  it('an empty experiment list gives no runs', async () => {
    expect(await search({ experimentIds: [] })).toEqual({ runIds: [] });
  });

  it('refuses bad max_results and view types', async () => {
    for (const maxResults of [0, -1, 1.5, 50_001, Number.NaN]) {
      await expect(search({ maxResults })).rejects.toMatchObject({ code: 'FALAJ_INVALID_ARGUMENT' });
    }
    await expect(search({ viewType: 'SOME' as RunViewType })).rejects.toMatchObject({
      code: 'FALAJ_INVALID_ARGUMENT',
    });
  });

  it('injection attempts as values and keys match nothing or fail cleanly, and change nothing', async () => {
    const count = async () =>
      Number(
        (await sql<{ n: number | string }>`select count(*) as n from runs`.execute(store.db)).rows[0]!.n,
      );
    const before = await count();
    const attempts = [
      "params.model = '; DROP TABLE runs; --'",
      "params.model = ''; DROP TABLE runs; --'",
      "params.model = 'x' or 1=1",
      "params.model = 'x' OR '1'='1'",
      "tags.team = 'vision'; DROP TABLE runs; --",
      "params.model LIKE '%' ESCAPE '|'",
      "params.model IN ('a'); DROP TABLE runs; --",
      'attributes.status = "FINISHED" /* comment */',
      "metrics.`a'--` > 0",
      "metrics.`a'--` > 0 --",
      'metrics.`x" = 1 or "1` > 0',
      "params.`depth = 1; drop table params; --` = '1'",
      "params.model LIKE 'x\\'",
      "params.model ILIKE '%\\'",
      'metrics.auc > 0 union select id from runs',
      'attributes.status IN (select status from runs)',
    ];
    for (const filter of attempts) {
      try {
        const got = await search({ filter, viewType: 'ALL' });
        // Only a key that really exists may match: the metric literally named a'--.
        if (filter.startsWith("metrics.`a'--` > 0")) expect(got.runIds.length).toBe(1);
        else expect(got.runIds).toEqual([]);
      } catch (err) {
        expect(err).toBeInstanceOf(FalajError);
        expect((err as FalajError).code).toBe('FALAJ_INVALID_ARGUMENT');
      }
    }
    expect(await count()).toBe(before);
    expect(
      Number(
        (await sql<{ n: number | string }>`select count(*) as n from params`.execute(store.db)).rows[0]!.n,
      ),
    ).toBeGreaterThan(0);
  });

  it('property: random filter strings either return ids or throw FalajError', async () => {
    const rnd = prng(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const fragments = [
      'metrics.auc',
      'metrics.loss',
      'metric.`f1 score`',
      'params.depth',
      'params.model',
      'tags.team',
      'tags."mlflow.source"',
      'attributes.status',
      'attributes.start_time',
      'attributes.end_time',
      'attr.run_id',
      'run_name',
      'datasets.name',
      'metrics.',
      'metrics.``',
      'foo.bar',
      '=',
      '!=',
      '<>',
      '>',
      '>=',
      '<',
      '<=',
      '==',
      'LIKE',
      'ilike',
      'IN',
      'NOT IN',
      'not',
      'and',
      'AND',
      'or',
      'IS NULL',
      '0.9',
      '-1',
      '1e999',
      '-1e-999',
      '.5',
      '5.',
      '1e',
      '0x10',
      "'6'",
      "'%a_\\%'",
      "'x\\'",
      "'it''s'",
      '"dq"',
      "'unterminated",
      '"',
      '`',
      "('a', 'b')",
      "('a',)",
      '()',
      '(',
      ')',
      ',',
      "'; DROP TABLE runs; --",
      '\0',
      '\u00e9',
      '\ud83d\ude00',
      '\ud800',
      '*?[',
    ];
    const randomChar = () => String.fromCharCode(Math.floor(rnd() * (rnd() < 0.8 ? 128 : 0xffff)));
    const iterations = dialect === 'postgres' ? 1500 : 3000;
    let ok = 0;
    for (let n = 0; n < iterations; n++) {
      let filter: string;
      if (rnd() < 0.5) {
        // Mostly well-formed: typed clauses joined by 'and', with the odd random substitution.
        const numeric = () =>
          `${pick(['metrics.auc', 'metrics.loss', 'metric.`f1 score`', 'attributes.start_time', 'end_time'])} ${pick(['=', '!=', '>', '>=', '<', '<='])} ${pick(['0.5', '-1', '1e999', '-1e999', '.25', '1700000005000', '0'])}`;
        const text = () =>
          `${pick(['params.depth', 'params.model', 'tags.team', 'tags."mlflow.source"', 'attributes.status', 'run_name', 'attr.run_id'])} ${pick(['=', '!=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'])} `;
        const strValue = () =>
          pick(["'6'", "'%a_\\%'", "'it''s'", '"Vision"', "'xgb*?[%'", "'%'", "'na_ve'"]);
        const clause = () => {
          if (rnd() < 0.4) return numeric();
          const head = text();
          const value = head.includes('IN ') ? `(${strValue()}, ${strValue()})` : strValue();
          return rnd() < 0.15 ? `${head}${pick(fragments)}` : `${head}${value}`;
        };
        filter = Array.from({ length: 1 + Math.floor(rnd() * 3) }, clause).join(
          pick([' and ', ' AND ', ' And ']),
        );
        if (rnd() < 0.1) filter += pick(fragments);
      } else {
        const parts: string[] = [];
        const len = 1 + Math.floor(rnd() * 8);
        for (let k = 0; k < len; k++) parts.push(rnd() < 0.8 ? pick(fragments) : randomChar());
        filter = parts.join(rnd() < 0.8 ? ' ' : '');
      }
      const orderBy =
        rnd() < 0.3 ? [pick(['metrics.auc DESC', 'params.depth', 'tags.team asc', 'x DESC', '`'])] : [];
      try {
        const got = await search({ filter, orderBy, maxResults: 1 + Math.floor(rnd() * 5), viewType: 'ALL' });
        expect(Array.isArray(got.runIds)).toBe(true);
        ok++;
      } catch (err) {
        if (!(err instanceof FalajError))
          throw new Error(`filter ${JSON.stringify(filter)} threw ${String(err)}`);
        expect(err.code).toBe('FALAJ_INVALID_ARGUMENT');
      }
    }
    // The generator reaches the database often enough to mean something.
    expect(ok).toBeGreaterThan(iterations / 4);
  });
});
