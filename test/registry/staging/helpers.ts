// A server in process with project `alpha` and four people on it — alice (editor), bob and
// carol (maintainers), dana (admin) — each with a login session, so that four eyes are four
// eyes; datasets with a known bias; models trained on them by the server trainer and
// registered from their runs.
import type { LightMyRequestResponse } from 'fastify';
import { trainingRuntime } from '../../../src/trainer/module.js';
import { createTestContext, type TestContext } from '../../support/app.js';
import type { DialectName } from '../../support/dialects.js';
import { prng } from '../../support/prng.js';

export const P = '/api/v1/projects/alpha';
export const MODELS = `${P}/models`;

export type Person = 'alice' | 'bob' | 'carol' | 'dana';
const ROLES: Record<Person, string> = {
  alice: 'editor',
  bob: 'maintainer',
  carol: 'maintainer',
  dana: 'admin',
};

export interface StagingTest {
  t: TestContext;
  as: Record<Person, string>;
  /** A viewer's session. */
  viewer: string;
  call(
    who: Person | 'viewer',
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    body?: unknown,
  ): Promise<LightMyRequestResponse>;
  /** Creates a dataset (with a row-count suite, so its versions pass) and uploads CSV versions. */
  dataset(name: string, ...csvs: string[]): Promise<void>;
  /** Trains on a dataset version in the server and registers the run's model as the next version of `model`. */
  trainAndRegister(model: string, body: Record<string, unknown>): Promise<{ version: number; runId: string }>;
  /** Row counts of the staging tables. */
  counts(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

const TABLES = [
  'model_evaluations',
  'gate_policies',
  'gate_runs',
  'promotion_requests',
  'model_aliases',
  'webhook_deliveries',
  'lineage_edges',
] as const;

/**
 * Loan-like rows: x1, x2 numeric, `group` A or B, `region` north/south, `label` yes/no. With
 * `bias`, the label leans on the group (A approved far more often) and a model that sees the
 * group learns it; without, the group plays no part.
 */
export function loansCsv(rows: number, seed: number, opts: { bias: boolean; withGroup?: boolean }): string {
  const r = prng(seed);
  const normal = () => {
    let u = 0;
    while (u === 0) u = r();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
  };
  const withGroup = opts.withGroup ?? true;
  const lines = [['x1', 'x2', ...(withGroup ? ['group'] : []), 'region', 'label'].join(',')];
  for (let i = 0; i < rows; i++) {
    const group = r() < 0.5 ? 'A' : 'B';
    const region = r() < 0.5 ? 'north' : 'south';
    const x1 = normal();
    const x2 = normal();
    const z = 1.5 * x1 + 0.7 * x2 + (opts.bias ? (group === 'A' ? 2 : -2) : 0);
    const label = r() < 1 / (1 + Math.exp(-z)) ? 'yes' : 'no';
    lines.push([x1.toFixed(4), x2.toFixed(4), ...(withGroup ? [group] : []), region, label].join(','));
  }
  return `${lines.join('\n')}\n`;
}

export async function setupStaging(dialect: DialectName): Promise<StagingTest> {
  const t = await createTestContext(dialect);
  const created = await t.request('POST', '/api/v1/projects', {
    token: t.adminToken,
    body: { name: 'alpha' },
  });
  if (created.statusCode !== 201) throw new Error(`project: ${created.statusCode} ${created.body}`);
  const as = {} as Record<Person, string>;
  for (const [who, role] of Object.entries(ROLES) as [Person, string][]) {
    as[who] = await t.userWithSession(who);
    const m = await t.request('PUT', `${P}/members/${who}`, { token: t.adminToken, body: { role } });
    if (m.statusCode !== 200) throw new Error(`member: ${m.statusCode} ${m.body}`);
  }
  const viewer = await t.userWithSession('victor');
  await t.request('PUT', `${P}/members/victor`, { token: t.adminToken, body: { role: 'viewer' } });
  const call: StagingTest['call'] = (who, method, url, body) =>
    t.request(method, url, {
      token: who === 'viewer' ? viewer : as[who],
      ...(body !== undefined ? { body } : {}),
    });
  return {
    t,
    as,
    viewer,
    call,
    async dataset(name, ...csvs) {
      const suite = {
        name: 'rows',
        expectations: [
          { expectation_type: 'expect_table_row_count_to_be_between', kwargs: { min_value: 10 } },
        ],
      };
      const d = await call('dana', 'POST', `${P}/datasets`, { name, suite });
      if (d.statusCode !== 201) throw new Error(`dataset: ${d.statusCode} ${d.body}`);
      for (const csv of csvs) {
        const v = await t.request('POST', `${P}/datasets/${name}/versions?fileName=${name}.csv`, {
          token: as.dana,
          body: csv,
          headers: { 'content-type': 'text/csv' },
        });
        if (v.statusCode !== 201) throw new Error(`dataset version: ${v.statusCode} ${v.body}`);
      }
    },
    async trainAndRegister(model, body) {
      const run = await call('alice', 'POST', `${P}/training`, { params: { nRounds: 25 }, ...body });
      if (run.statusCode !== 202) throw new Error(`training: ${run.statusCode} ${run.body}`);
      const { runId } = run.json() as { runId: string };
      await trainingRuntime(t.app).trainer.idle();
      const reg = await call('alice', 'POST', `${MODELS}/${model}/versions`, { run_id: runId });
      if (reg.statusCode !== 201) throw new Error(`register: ${reg.statusCode} ${reg.body}`);
      return { version: (reg.json() as { version: number }).version, runId };
    },
    async counts() {
      const out: Record<string, number> = {};
      for (const table of TABLES) {
        const row = await t.svc.store.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow();
        out[table] = Number(row.n);
      }
      return out;
    },
    close: () => t.close(),
  };
}

export function errorCode(res: LightMyRequestResponse): string {
  return (res.json() as { error: { code: string } }).error.code;
}
