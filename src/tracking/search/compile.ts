// Compiles parsed clauses and order terms to one parameterised SELECT through Kysely's `sql`
// builder: user values only ever travel as bound parameters; identifiers in the SQL text are
// fixed column names and aliases made here (f0, f1, o0, ...), never user input.
//
// Shape:
//   select r.id from runs r
//     join (select run_id from latest_metrics where key = ? and value > ?     -- a metric clause
//           intersect select run_id from params where key = ? and value = ?) m on m.run_id = r.id
//     left join latest_metrics o0 on o0.run_id = r.id and o0.key = ?        -- an order term
//   where r.project_id = ? and r.experiment_id in (?, ...) and r.lifecycle_stage = ? and ...
//   order by <bucket o0>, o0.value desc, r.start_time desc, r.id
//   limit ? offset ?
// Intersecting the clauses' run-id sets first (each from a covering (key, value, run_id) index)
// keeps the cost proportional to the matches of each clause, whatever the planner's estimates:
// joining per clause made both planners probe every candidate run one by one.

import { type RawBuilder, sql } from 'kysely';
import { FalajError } from '../../core/errors.js';
import type { StoreDialect } from '../../store/dialects/dialect.js';
import type { Clause, NumericComparator, OrderTerm, StringComparator } from './parser.js';

export type RunViewType = 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL';

export interface CompileInput {
  projectId: string;
  experimentIds: readonly string[];
  clauses: readonly Clause[];
  order: readonly OrderTerm[];
  viewType: RunViewType;
  limit: number;
  offset: number;
}

type Frag = RawBuilder<unknown>;

function numericOp(op: NumericComparator): Frag {
  switch (op) {
    case '=':
      return sql`=`;
    case '!=':
      return sql`<>`;
    case '>':
      return sql`>`;
    case '>=':
      return sql`>=`;
    case '<':
      return sql`<`;
    case '<=':
      return sql`<=`;
  }
}

/** Refuses a LIKE pattern that PostgreSQL would reject (a lone trailing escape). */
function checkLikePattern(pattern: string): void {
  const trailing = /\\+$/.exec(pattern)?.[0].length ?? 0;
  if (trailing % 2 === 1)
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      `filter: LIKE pattern must not end with a lone backslash: ${pattern}`,
    );
}

export function compileSearch(dialect: StoreDialect, q: CompileInput): RawBuilder<{ id: string }> {
  const ref = (alias: string, column: string) => sql.ref(`${alias}.${column}`);
  const runId = sql.ref('r.id');
  // Text orders by bytes on both dialects.
  const text = (e: Frag): Frag => dialect.byteOrder(e);

  const stringPredicate = (col: Frag, op: StringComparator, value: string | string[]): Frag => {
    const list = Array.isArray(value) ? value : [value];
    const one = list[0] ?? '';
    switch (op) {
      case '=':
        return sql`${col} = ${one}`;
      case '!=':
        return sql`${col} <> ${one}`;
      case 'IN':
        return sql`${col} in (${sql.join(list)})`;
      case 'NOT IN':
        return sql`${col} not in (${sql.join(list)})`;
      case 'LIKE':
        checkLikePattern(one);
        return dialect.like(col, one);
      case 'ILIKE':
        checkLikePattern(one);
        return dialect.ilike(col, one);
    }
  };

  const joins: Frag[] = [];
  const where: Frag[] = [sql`r.project_id = ${q.projectId}`];
  if (q.viewType === 'ACTIVE_ONLY') where.push(sql`r.lifecycle_stage = ${'active'}`);
  else if (q.viewType === 'DELETED_ONLY') where.push(sql`r.lifecycle_stage = ${'deleted'}`);

  // Each metric/param/tag clause is the set of run ids that satisfy it, read from the
  // (key, value[, run_id]) index alone; the sets are intersected before any run is looked up.
  const sets: Frag[] = [];
  for (const c of q.clauses) {
    const value = sql.ref('value');
    if (c.entity === 'metric') {
      // NaN is is_nan = 1 with a NULL value: it fails every comparison but '!=' (IEEE 754).
      const predicate =
        c.op === '!='
          ? sql`(${sql.ref('is_nan')} = 1 or ${value} <> ${c.value})`
          : sql`${value} ${numericOp(c.op)} ${c.value}`;
      sets.push(sql`select run_id from latest_metrics where ${sql.ref('key')} = ${c.key} and ${predicate}`);
    } else if (c.entity === 'attribute') {
      if (c.numeric) where.push(sql`${ref('r', c.column)} ${numericOp(c.op)} ${dialect.double(c.value)}`);
      else where.push(stringPredicate(ref('r', c.column), c.op, c.value));
    } else {
      const table = c.entity === 'param' ? sql`params` : sql`run_tags`;
      sets.push(
        sql`select run_id from ${table} where ${sql.ref('key')} = ${c.key} and ${stringPredicate(value, c.op, c.value)}`,
      );
    }
  }
  const experiments = sql`in (${sql.join([...q.experimentIds])})`;
  if (sets.length > 0) {
    where.push(sql`${runId} in (${sql.join(sets, sql` intersect `)})`);
    // Start from the matching ids, not from every run of the experiments: SQLite's planner,
    // without statistics, prefers the experiment index, and a unary + keeps it off that index.
    where.push(sql`${dialect.unindexed(sql.ref('r.experiment_id'))} ${experiments}`);
  } else {
    where.push(sql`r.experiment_id ${experiments}`);
  }

  const order: Frag[] = [];
  const dir = (ascending: boolean): Frag => (ascending ? sql`asc` : sql`desc`);
  let hasStart = false;
  let hasId = false;
  q.order.forEach((t, i) => {
    const a = `o${i}`;
    if (t.entity === 'metric') {
      joins.push(
        sql`left join latest_metrics as ${sql.table(a)} on ${ref(a, 'run_id')} = ${runId} and ${ref(a, 'key')} = ${t.key}`,
      );
      // Values first, then NaN, then runs without the metric, in either direction (as MLflow).
      order.push(
        sql`case when ${ref(a, 'is_nan')} = 1 then 1 when ${ref(a, 'value')} is null then 2 else 0 end`,
      );
      order.push(sql`${ref(a, 'value')} ${dir(t.ascending)}`);
    } else if (t.entity === 'attribute') {
      const col = ref('r', t.column);
      if (t.nullable) order.push(sql`case when ${col} is null then 1 else 0 end`);
      order.push(sql`${t.numeric ? col : text(col)} ${dir(t.ascending)}`);
      if (t.column === 'start_time') hasStart = true;
      if (t.column === 'id') hasId = true;
    } else {
      const table = t.entity === 'param' ? sql`params` : sql`run_tags`;
      joins.push(
        sql`left join ${table} as ${sql.table(a)} on ${ref(a, 'run_id')} = ${runId} and ${ref(a, 'key')} = ${t.key}`,
      );
      order.push(sql`case when ${ref(a, 'value')} is null then 1 else 0 end`);
      order.push(sql`${text(ref(a, 'value'))} ${dir(t.ascending)}`);
    }
  });
  // MLflow's natural order, and the run id last: a total order, which paging needs.
  if (!hasStart) order.push(sql`r.start_time desc`);
  if (!hasId) order.push(sql`${text(runId)} asc`);

  const joined = joins.length > 0 ? sql.join(joins, sql` `) : sql``;
  return sql<{
    id: string;
  }>`select r.id as id from runs as r ${joined} where ${sql.join(where, sql` and `)} order by ${sql.join(order)} limit ${q.limit} offset ${q.offset}`;
}
