// Search of registered models and model versions with MLflow's grammar (search_utils.py's
// SearchModelUtils and SearchModelVersionUtils):
//   filter   := '' | clause ('AND' clause)*
//   models   : name | tags.<key>                                    with = != LIKE ILIKE
//   versions : name | run_id | source_path | tags.<key>             with = != LIKE ILIKE (run_id also IN (...))
//              version_number                                       with = != < <= > >=
//   order_by : models by name, creation_timestamp (or timestamp), last_updated_timestamp;
//              versions by name, version_number, creation_timestamp, last_updated_timestamp;
//              [ASC|DESC]; ties broken by name ASC (then version DESC for versions).
// Values travel as bound parameters; LIKE and ILIKE are the store dialect's (`\` escapes).
// Pages are offsets in an opaque token tied to the query (tracking's page tokens).
import { type Expression, type SqlBool, sql } from 'kysely';
import { FalajError } from '../core/errors.js';
import type { StoreDialect } from '../store/dialects/dialect.js';
import type { Executor } from '../store/executor.js';
import { syntaxError, type Token, tokenize } from '../tracking/search/lexer.js';
import { decodePageToken, encodePageToken, fingerprint } from '../tracking/search/page-token.js';

export type SearchKind = 'models' | 'versions';

type Field = 'name' | 'run_id' | 'source_path' | 'version_number' | 'tag';
type Op = '=' | '!=' | '<' | '<=' | '>' | '>=' | 'LIKE' | 'ILIKE' | 'IN';

export interface Clause {
  field: Field;
  key?: string;
  op: Op;
  value: string | number | string[];
}

export interface OrderTerm {
  column: 'name' | 'version' | 'created_at' | 'updated_at';
  ascending: boolean;
}

/** MLflow's limits: models default 100, at most 1000; versions default 200,000, at most 200,000. */
export const SEARCH_LIMITS = {
  models: { default: 100, max: 1000 },
  versions: { default: 200_000, max: 200_000 },
} as const;

const STRING_OPS: readonly Op[] = ['=', '!=', 'LIKE', 'ILIKE'];
const NUMERIC_OPS: readonly Op[] = ['=', '!=', '<', '<=', '>', '>='];
const MAX_CLAUSES = 40;
const MAX_LIST_VALUES = 1000;

const FIELDS: Record<SearchKind, readonly string[]> = {
  models: ['name'],
  versions: ['name', 'run_id', 'source_path', 'version_number'],
};

function invalid(message: string): FalajError {
  return new FalajError('FALAJ_INVALID_ARGUMENT', message);
}

class Parser {
  private i = 0;
  private readonly tokens: Token[];
  constructor(
    private readonly input: string,
    private readonly kind: SearchKind,
  ) {
    this.tokens = tokenize(input, 'filter');
  }
  private peek(): Token {
    return this.tokens[this.i]!;
  }
  private next(): Token {
    const t = this.tokens[this.i]!;
    if (t.kind !== 'eof') this.i++;
    return t;
  }
  private fail(pos: number, message: string): FalajError {
    return syntaxError('filter', this.input, pos, message);
  }
  private isWord(t: Token, w: string): boolean {
    return t.kind === 'name' && t.value.toUpperCase() === w;
  }

  private identifier(): { field: Field; key?: string; text: string; pos: number } {
    const t = this.next();
    const valid =
      this.kind === 'models' ? 'name, tags.<key>' : 'name, version_number, run_id, source_path, tags.<key>';
    if (t.kind === 'backtick' || (t.kind === 'string' && t.quote === '"'))
      return this.attribute(t.value, t.pos, valid);
    if (t.kind !== 'name') {
      const what = t.kind === 'eof' ? 'the end' : `'${this.input.slice(t.pos, t.end)}'`;
      throw this.fail(t.pos, `expected one of ${valid}, found ${what}`);
    }
    const dot = t.value.indexOf('.');
    if (dot < 0) return this.attribute(t.value, t.pos, valid);
    const entity = t.value.slice(0, dot).toLowerCase();
    let key = t.value.slice(dot + 1);
    if (entity === 'attribute' || entity === 'attributes') return this.attribute(key, t.pos, valid);
    if (entity !== 'tag' && entity !== 'tags')
      throw this.fail(t.pos, `Invalid entity type '${t.value.slice(0, dot)}': expected one of ${valid}`);
    if (key === '') {
      const q = this.peek();
      if ((q.kind === 'backtick' || q.kind === 'string') && q.pos === t.end) {
        this.next();
        key = q.value;
      } else throw this.fail(t.end, `expected a key after '${t.value}'`);
    }
    if (key === '') throw this.fail(t.end, 'empty tag key');
    return { field: 'tag', key, text: `tags.${key}`, pos: t.pos };
  }

  private attribute(key: string, pos: number, valid: string): { field: Field; text: string; pos: number } {
    if (!FIELDS[this.kind].includes(key))
      throw this.fail(pos, `Invalid attribute key '${key}': expected one of ${valid}`);
    return { field: key as Field, text: key, pos };
  }

  private comparator(field: Field, text: string): Op {
    const t = this.next();
    let op: string;
    if (t.kind === 'op') op = t.value;
    else if (this.isWord(t, 'LIKE') || this.isWord(t, 'ILIKE') || this.isWord(t, 'IN'))
      op = t.value.toUpperCase();
    else throw this.fail(t.pos, `expected a comparator after '${text}'`);
    const allowed =
      field === 'version_number'
        ? NUMERIC_OPS
        : field === 'run_id'
          ? [...STRING_OPS, 'IN' as const]
          : STRING_OPS;
    if (!allowed.includes(op as Op))
      throw this.fail(
        t.pos,
        `Invalid comparator '${op}' for '${text}' (expected one of ${allowed.join(' ')})`,
      );
    return op as Op;
  }

  private stringValue(text: string): string {
    const t = this.next();
    if (t.kind !== 'string')
      throw this.fail(
        t.pos,
        t.kind === 'eof'
          ? `expected a value for '${text}'`
          : `expected a quoted string for '${text}', found '${this.input.slice(t.pos, t.end)}'`,
      );
    return t.value;
  }

  private clause(): Clause {
    const id = this.identifier();
    const op = this.comparator(id.field, id.text);
    if (id.field === 'version_number') {
      const t = this.next();
      const n = t.kind === 'number' || t.kind === 'string' ? Number(t.value) : Number.NaN;
      if (!Number.isSafeInteger(n))
        throw this.fail(
          t.pos,
          `expected an integer for 'version_number', found '${this.input.slice(t.pos, t.end)}'`,
        );
      return { field: id.field, op, value: n };
    }
    if (op === 'IN') {
      const open = this.next();
      if (open.kind !== '(') throw this.fail(open.pos, `expected '(' after 'IN'`);
      const values: string[] = [];
      for (;;) {
        values.push(this.stringValue(id.text));
        const t = this.next();
        if (t.kind === ')') break;
        if (t.kind !== ',') throw this.fail(t.pos, `expected ',' or ')' in the list`);
      }
      return { field: id.field, op, value: values };
    }
    const value = this.stringValue(id.text);
    if (op === 'LIKE' || op === 'ILIKE') {
      const trailing = /\\+$/.exec(value)?.[0].length ?? 0;
      if (trailing % 2 === 1)
        throw invalid(`filter: LIKE pattern must not end with a lone backslash: ${value}`);
    }
    return id.key === undefined
      ? { field: id.field, op, value }
      : { field: id.field, key: id.key, op, value };
  }

  filter(): Clause[] {
    const out: Clause[] = [];
    if (this.peek().kind === 'eof') return out;
    let listValues = 0;
    for (;;) {
      const start = this.peek().pos;
      const c = this.clause();
      out.push(c);
      if (out.length > MAX_CLAUSES) throw this.fail(start, `too many clauses (at most ${MAX_CLAUSES})`);
      if (Array.isArray(c.value)) listValues += c.value.length;
      if (listValues > MAX_LIST_VALUES)
        throw this.fail(start, `too many values in IN lists (at most ${MAX_LIST_VALUES})`);
      const t = this.next();
      if (t.kind === 'eof') return out;
      if (!this.isWord(t, 'AND'))
        throw this.fail(t.pos, `expected 'AND' or the end of the filter (only AND joins clauses)`);
      if (this.peek().kind === 'eof') throw this.fail(this.peek().pos, `expected a clause after 'AND'`);
    }
  }
}

/** Parses a registry filter; a missing or blank one is no clause. FALAJ_INVALID_ARGUMENT otherwise. */
export function parseRegistryFilter(kind: SearchKind, filter: string | undefined): Clause[] {
  if (filter === undefined || filter.trim() === '') return [];
  return new Parser(filter, kind).filter();
}

const ORDER_COLUMNS: Record<SearchKind, Record<string, OrderTerm['column']>> = {
  models: {
    name: 'name',
    timestamp: 'created_at',
    creation_timestamp: 'created_at',
    last_updated_timestamp: 'updated_at',
  },
  versions: {
    name: 'name',
    version_number: 'version',
    creation_timestamp: 'created_at',
    last_updated_timestamp: 'updated_at',
  },
};

/** order_by terms: `<column> [ASC|DESC]`, the column optionally as `attribute.<column>`. */
export function parseRegistryOrderBy(kind: SearchKind, orderBy: readonly string[] | undefined): OrderTerm[] {
  const terms = orderBy ?? [];
  if (terms.length > 10) throw invalid('order_by: at most 10 terms');
  return terms.map((term) => {
    const m = /^\s*(?:attributes?\.)?(\w+)\s*(?:\s(asc|desc))?\s*$/i.exec(term);
    const column = m ? ORDER_COLUMNS[kind][m[1]!] : undefined;
    if (!m || !column)
      throw invalid(
        `Invalid order_by clause '${term}'. Only ${Object.keys(ORDER_COLUMNS[kind]).join(', ')} with ASC or DESC are allowed.`,
      );
    return { column, ascending: m[2]?.toLowerCase() !== 'desc' };
  });
}

/** max_results within MLflow's bounds, with its default; MLflow's wording otherwise. */
export function parseSearchMaxResults(kind: SearchKind, value: unknown): number {
  const { default: fallback, max } = SEARCH_LIMITS[kind];
  if (value === undefined || value === null || value === '') return fallback;
  const n = typeof value === 'string' && /^-?\d{1,19}$/.test(value.trim()) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n))
    throw invalid(
      `Invalid value '${String(value).slice(0, 40)}' for parameter 'max_results': expected an integer`,
    );
  if (n < 1) throw invalid(`Invalid value for max_results. It must be a positive integer, but got ${n}`);
  if (n > max) throw invalid(`Invalid value for max_results. It must be at most ${max}, but got value ${n}`);
  return n;
}

export interface SearchQuery {
  projectId: string;
  filter?: string | undefined;
  orderBy?: readonly string[] | undefined;
  maxResults: number;
  pageToken?: string | undefined;
}

type Frag = Expression<SqlBool>;

function stringPredicate(
  dialect: StoreDialect,
  col: Expression<unknown>,
  op: Op,
  value: string | string[],
): Frag {
  const list = Array.isArray(value) ? value : [value];
  const one = list[0] ?? '';
  switch (op) {
    case '=':
      return sql<SqlBool>`${col} = ${one}`;
    case '!=':
      return sql<SqlBool>`${col} <> ${one}`;
    case 'IN':
      return sql<SqlBool>`${col} in (${sql.join(list)})`;
    case 'LIKE':
      return dialect.like(col, one) as Expression<SqlBool>;
    case 'ILIKE':
      return dialect.ilike(col, one) as Expression<SqlBool>;
    default:
      throw invalid(`Invalid comparator '${op}'`);
  }
}

function numericPredicate(col: Expression<unknown>, op: Op, value: number): Frag {
  const ops: Record<string, string> = { '=': '=', '!=': '<>', '<': '<', '<=': '<=', '>': '>', '>=': '>=' };
  return sql<SqlBool>`${col} ${sql.raw(ops[op]!)} ${value}`;
}

function checkTokenString(token: string | undefined): string | undefined {
  return token === undefined || token === '' ? undefined : token;
}

/** One page of the project's registered model ids matching the filter, in order. */
export async function searchModelIds(
  db: Executor,
  dialect: StoreDialect,
  q: SearchQuery,
): Promise<{ ids: string[]; nextPageToken?: string }> {
  const clauses = parseRegistryFilter('models', q.filter);
  const order = parseRegistryOrderBy('models', q.orderBy);
  const print = fingerprint({ k: 'models', p: q.projectId, c: clauses, o: order });
  const token = checkTokenString(q.pageToken);
  const offset = token ? decodePageToken(token, print) : 0;
  let query = db.selectFrom('registered_models as m').select('m.id').where('m.project_id', '=', q.projectId);
  for (const c of clauses) {
    if (c.field === 'name')
      query = query.where(stringPredicate(dialect, sql.ref('m.name'), c.op, c.value as string));
    else
      query = query.where(
        sql<SqlBool>`exists (select 1 from registered_model_tags t where t.model_id = m.id and t.key = ${c.key!} and ${stringPredicate(dialect, sql.ref('t.value'), c.op, c.value as string)})`,
      );
  }
  let hasName = false;
  for (const t of order) {
    const dir = t.ascending ? 'asc' : 'desc';
    if (t.column === 'name') {
      hasName = true;
      query = query.orderBy(dialect.byteOrder(sql.ref('m.name')), dir);
    } else query = query.orderBy(t.column === 'created_at' ? 'm.created_at' : 'm.updated_at', dir);
  }
  if (!hasName) query = query.orderBy(dialect.byteOrder(sql.ref('m.name')), 'asc');
  const rows = await query
    .limit(q.maxResults + 1)
    .offset(offset)
    .execute();
  const ids = rows.slice(0, q.maxResults).map((r) => r.id);
  return rows.length > q.maxResults
    ? { ids, nextPageToken: encodePageToken(offset + q.maxResults, print) }
    : { ids };
}

/** One page of the project's model version ids matching the filter, in order. */
export async function searchVersionIds(
  db: Executor,
  dialect: StoreDialect,
  q: SearchQuery,
): Promise<{ ids: string[]; nextPageToken?: string }> {
  const clauses = parseRegistryFilter('versions', q.filter);
  const order = parseRegistryOrderBy('versions', q.orderBy);
  const print = fingerprint({ k: 'versions', p: q.projectId, c: clauses, o: order });
  const token = checkTokenString(q.pageToken);
  const offset = token ? decodePageToken(token, print) : 0;
  let query = db
    .selectFrom('model_versions as v')
    .innerJoin('registered_models as m', 'm.id', 'v.model_id')
    .select('v.id')
    .where('m.project_id', '=', q.projectId);
  for (const c of clauses) {
    switch (c.field) {
      case 'name':
        query = query.where(stringPredicate(dialect, sql.ref('m.name'), c.op, c.value as string));
        break;
      case 'run_id':
        query = query.where(
          stringPredicate(dialect, sql.ref('v.run_id'), c.op, c.value as string | string[]),
        );
        break;
      case 'source_path':
        query = query.where(stringPredicate(dialect, sql.ref('v.source'), c.op, c.value as string));
        break;
      case 'version_number':
        query = query.where(numericPredicate(sql.ref('v.version'), c.op, c.value as number));
        break;
      case 'tag':
        query = query.where(
          sql<SqlBool>`exists (select 1 from model_version_tags t where t.version_id = v.id and t.key = ${c.key!} and ${stringPredicate(dialect, sql.ref('t.value'), c.op, c.value as string)})`,
        );
        break;
    }
  }
  let hasName = false;
  let hasVersion = false;
  for (const t of order) {
    const dir = t.ascending ? 'asc' : 'desc';
    if (t.column === 'name') {
      hasName = true;
      query = query.orderBy(dialect.byteOrder(sql.ref('m.name')), dir);
    } else if (t.column === 'version') {
      hasVersion = true;
      query = query.orderBy('v.version', dir);
    } else query = query.orderBy(t.column === 'created_at' ? 'v.created_at' : 'v.updated_at', dir);
  }
  if (!hasName) query = query.orderBy(dialect.byteOrder(sql.ref('m.name')), 'asc');
  if (!hasVersion) query = query.orderBy('v.version', 'desc');
  const rows = await query
    .limit(q.maxResults + 1)
    .offset(offset)
    .execute();
  const ids = rows.slice(0, q.maxResults).map((r) => r.id);
  return rows.length > q.maxResults
    ? { ids, nextPageToken: encodePageToken(offset + q.maxResults, print) }
    : { ids };
}
