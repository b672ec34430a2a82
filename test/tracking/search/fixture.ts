// A small tracking fixture inserted straight into the tables, and a plain-TypeScript model of
// MLflow's search semantics over it, which the SQL results are checked against.
import type { Kysely } from 'kysely';
import type { Database } from '../../../src/store/schema.js';
import type { Clause, OrderTerm } from '../../../src/tracking/search/index.js';

import { prng } from '../../support/prng.js';

export { prng };

export interface FixtureRun {
  id: string;
  projectId: string;
  experimentId: string;
  name: string;
  userId: string;
  status: string;
  startTime: number;
  endTime: number | null;
  lifecycle: 'active' | 'deleted';
  artifactUri: string;
  metrics: Record<string, number>;
  params: Record<string, string>;
  tags: Record<string, string>;
}

export const PROJECT = 'p-main';
export const OTHER_PROJECT = 'p-other';
export const EXP_A = 'exp-a';
export const EXP_B = 'exp-b';
export const EXP_OTHER = 'exp-other';
export const BASE_TIME = 1_700_000_000_000;

const STATUSES = ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'];
const MODELS = [
  'LogisticRegression',
  'logisticregression',
  'RandomForest',
  'xgb*?[x]',
  "it's",
  'naïve',
  '50%_off',
  'back\\slash',
];
const NAMES = ['Alpha', 'alpha', 'BETA', 'beta_x', 'gamma%', 'Delta'];

export function makeRuns(): FixtureRun[] {
  const rnd = prng(42);
  const runs: FixtureRun[] = [];
  const hex = () =>
    Math.floor(rnd() * 0xffffffff)
      .toString(16)
      .padStart(8, '0');
  for (let i = 0; i < 32; i++) {
    const other = i >= 29;
    const metrics: Record<string, number> = {};
    // auc: mostly uniform, with NaN, ±Infinity and a few runs without it.
    if (i === 3 || i === 11) metrics['auc'] = Number.NaN;
    else if (i === 5) metrics['auc'] = Number.POSITIVE_INFINITY;
    else if (i === 6) metrics['auc'] = Number.NEGATIVE_INFINITY;
    else if (i % 9 !== 8) metrics['auc'] = Math.round(rnd() * 1000) / 1000;
    if (i === 12) metrics['auc'] = 0.5;
    if (i === 13) metrics['auc'] = 0.5; // a tie
    metrics['loss'] = i === 4 ? Number.NaN : Math.round(rnd() * 100) / 10;
    if (i % 3 === 0) metrics['f1 score'] = Math.round(rnd() * 100) / 100;
    if (i === 9) metrics["a'--"] = 1;
    const params: Record<string, string> = {};
    if (i % 7 !== 6) params['depth'] = String(1 + Math.floor(rnd() * 8));
    params['model'] = MODELS[i % MODELS.length]!;
    if (i % 2 === 0) params['lr'] = (rnd() / 10).toFixed(4);
    const tags: Record<string, string> = {};
    tags['mlflow.source'] = i % 4 === 0 ? 'LOCAL' : `git/repo-${i % 3}`;
    if (i % 5 !== 4) tags['team'] = i % 2 === 0 ? 'vision' : 'Vision';
    const status = STATUSES[i % STATUSES.length]!;
    runs.push({
      id: `${hex()}${hex()}${String(i).padStart(2, '0')}`,
      projectId: other ? OTHER_PROJECT : PROJECT,
      experimentId: other ? EXP_OTHER : i % 2 === 0 ? EXP_A : EXP_B,
      name: `${NAMES[i % NAMES.length]}-${i}`,
      userId: i % 3 === 0 ? 'alice' : 'bob',
      status,
      // Several runs share a start time, so the run id decides among them.
      startTime: BASE_TIME + (i % 10) * 1000,
      endTime: status === 'RUNNING' || status === 'SCHEDULED' ? null : BASE_TIME + 100_000 + i,
      lifecycle: i === 7 || i === 20 ? 'deleted' : 'active',
      artifactUri: `s3://bucket/${i}/artifacts`,
      metrics,
      params,
      tags,
    });
  }
  return runs;
}

export async function insertFixture(db: Kysely<Database>, runs: FixtureRun[]): Promise<void> {
  await db
    .insertInto('projects')
    .values([
      { id: PROJECT, name: 'main', description: '', created_at: BASE_TIME, created_by: 'u' },
      { id: OTHER_PROJECT, name: 'other', description: '', created_at: BASE_TIME, created_by: 'u' },
    ])
    .execute();
  await db
    .insertInto('experiments')
    .values(
      [
        [EXP_A, PROJECT],
        [EXP_B, PROJECT],
        [EXP_OTHER, OTHER_PROJECT],
      ].map(([id, project]) => ({
        id: id!,
        project_id: project!,
        name: id!,
        artifact_location: `s3://bucket/${id}`,
        lifecycle_stage: 'active',
        creation_time: BASE_TIME,
        last_update_time: BASE_TIME,
      })),
    )
    .execute();
  for (const r of runs) {
    await db
      .insertInto('runs')
      .values({
        id: r.id,
        experiment_id: r.experimentId,
        project_id: r.projectId,
        name: r.name,
        user_id: r.userId,
        status: r.status,
        start_time: r.startTime,
        end_time: r.endTime,
        lifecycle_stage: r.lifecycle,
        artifact_uri: r.artifactUri,
        parent_run_id: null,
        deleted_time: r.lifecycle === 'deleted' ? BASE_TIME + 1 : null,
      })
      .execute();
    const metrics = Object.entries(r.metrics).map(([key, v]) => ({
      run_id: r.id,
      key,
      step: 0,
      timestamp: BASE_TIME,
      value: Number.isNaN(v) ? null : v,
      is_nan: Number.isNaN(v) ? 1 : 0,
    }));
    if (metrics.length) await db.insertInto('latest_metrics').values(metrics).execute();
    const kv = (o: Record<string, string>) =>
      Object.entries(o).map(([key, value]) => ({ run_id: r.id, key, value }));
    if (Object.keys(r.params).length) await db.insertInto('params').values(kv(r.params)).execute();
    if (Object.keys(r.tags).length) await db.insertInto('run_tags').values(kv(r.tags)).execute();
  }
}

// ---- The reference model -------------------------------------------------------------------

function likeRegex(pattern: string, flags: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) re += escapeRe(pattern[++i]!);
    else if (c === '%') re += '[\\s\\S]*';
    else if (c === '_') re += '[\\s\\S]';
    else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`, `u${flags}`);
}
const escapeRe = (c: string) => c.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');

const COLUMN: Record<string, (r: FixtureRun) => string | number | null> = {
  id: (r) => r.id,
  name: (r) => r.name,
  status: (r) => r.status,
  user_id: (r) => r.userId,
  artifact_uri: (r) => r.artifactUri,
  experiment_id: (r) => r.experimentId,
  start_time: (r) => r.startTime,
  end_time: (r) => r.endTime,
};

function compareNumber(lhs: number, op: string, v: number): boolean {
  switch (op) {
    case '=':
      return lhs === v;
    case '!=':
      return lhs !== v;
    case '>':
      return lhs > v;
    case '>=':
      return lhs >= v;
    case '<':
      return lhs < v;
    default:
      return lhs <= v;
  }
}

function compareString(lhs: string, op: string, v: string | string[]): boolean {
  const list = Array.isArray(v) ? v : [v];
  switch (op) {
    case '=':
      return lhs === list[0];
    case '!=':
      return lhs !== list[0];
    case 'IN':
      return list.includes(lhs);
    case 'NOT IN':
      return !list.includes(lhs);
    case 'LIKE':
      return likeRegex(list[0]!, '').test(lhs);
    default:
      return likeRegex(list[0]!, 'i').test(lhs);
  }
}

export function matches(r: FixtureRun, c: Clause): boolean {
  if (c.entity === 'metric') {
    const v = r.metrics[c.key];
    return v !== undefined && compareNumber(v, c.op, c.value);
  }
  if (c.entity === 'attribute') {
    const v = COLUMN[c.column]!(r);
    if (v === null) return false;
    return c.numeric ? compareNumber(v as number, c.op, c.value) : compareString(v as string, c.op, c.value);
  }
  const v = (c.entity === 'param' ? r.params : r.tags)[c.key];
  return v !== undefined && compareString(v, c.op, c.value);
}

/** Sort key: [bucket, value] — bucket 0 values, 1 NaN, 2 missing (MLflow puts both last). */
function sortKey(r: FixtureRun, t: OrderTerm): [number, number | string | null] {
  if (t.entity === 'metric') {
    const v = r.metrics[t.key];
    if (v === undefined) return [2, null];
    if (Number.isNaN(v)) return [1, null];
    return [0, v];
  }
  if (t.entity === 'attribute') {
    const v = COLUMN[t.column]!(r);
    return v === null ? [1, null] : [0, v];
  }
  const v = (t.entity === 'param' ? r.params : r.tags)[t.key];
  return v === undefined ? [1, null] : [0, v];
}

const cmp = (a: number | string, b: number | string) => (a < b ? -1 : a > b ? 1 : 0);

export function expectedOrder(runs: FixtureRun[], order: OrderTerm[]): FixtureRun[] {
  const terms = [...order];
  if (!terms.some((t) => t.entity === 'attribute' && t.column === 'start_time'))
    terms.push({
      entity: 'attribute',
      key: 'start_time',
      column: 'start_time',
      nullable: false,
      numeric: true,
      ascending: false,
    });
  if (!terms.some((t) => t.entity === 'attribute' && t.column === 'id'))
    terms.push({
      entity: 'attribute',
      key: 'run_id',
      column: 'id',
      nullable: false,
      numeric: false,
      ascending: true,
    });
  return [...runs].sort((x, y) => {
    for (const t of terms) {
      const [bx, vx] = sortKey(x, t);
      const [by, vy] = sortKey(y, t);
      if (bx !== by) return bx - by;
      if (vx === null || vy === null) continue;
      const c = cmp(vx, vy);
      if (c !== 0) return t.ascending ? c : -c;
    }
    return 0;
  });
}

export function expectedSearch(
  runs: FixtureRun[],
  q: {
    projectId: string;
    experimentIds: string[];
    clauses: Clause[];
    order: OrderTerm[];
    viewType: 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL';
  },
): string[] {
  const hits = runs.filter(
    (r) =>
      r.projectId === q.projectId &&
      q.experimentIds.includes(r.experimentId) &&
      (q.viewType === 'ALL' || (q.viewType === 'ACTIVE_ONLY') === (r.lifecycle === 'active')) &&
      q.clauses.every((c) => matches(r, c)),
  );
  return expectedOrder(hits, q.order).map((r) => r.id);
}
