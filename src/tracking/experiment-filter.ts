import { type RawBuilder, sql } from 'kysely';
import type { StoreDialect } from '../store/dialects/dialect.js';
import { invalid } from './validation.js';

/**
 * The filter of experiments/search, as MLflow accepts it: clauses joined by AND, each
 * `<field> <comparator> <value>` where field is `name` / `attribute.name`, `creation_time`,
 * `last_update_time` or `tags.<key>` (a key with special characters in backticks or quotes).
 * Compiles to parameterised SQL over the `experiments` table aliased `e`.
 */
type Token =
  | { kind: 'ident'; text: string; pos: number }
  | { kind: 'string'; text: string; pos: number }
  | { kind: 'number'; value: number; pos: number }
  | { kind: 'op'; text: string; pos: number };

function tokenize(input: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "'" || c === '"') {
      const end = input.indexOf(c, i + 1);
      if (end < 0) throw invalid(`Invalid filter '${input}': unterminated string at position ${i}`);
      out.push({ kind: 'string', text: input.slice(i + 1, end), pos: i });
      i = end + 1;
      continue;
    }
    const op = /^(<=|>=|!=|=|<|>)/.exec(input.slice(i));
    if (op) {
      out.push({ kind: 'op', text: op[1]!, pos: i });
      i += op[1]!.length;
      continue;
    }
    const num = /^-?\d+(\.\d+)?/.exec(input.slice(i));
    if (num) {
      out.push({ kind: 'number', value: Number(num[0]), pos: i });
      i += num[0].length;
      continue;
    }
    // An identifier, possibly dotted, with backticked or quoted parts: tags.`my key`.
    const ident = /^[A-Za-z_]\w*(\.(`[^`]*`|"[^"]*"|'[^']*'|[\w.\-/]+))?/.exec(input.slice(i));
    if (ident) {
      out.push({ kind: 'ident', text: ident[0], pos: i });
      i += ident[0].length;
      continue;
    }
    throw invalid(`Invalid filter '${input}': unexpected character '${c}' at position ${i}`);
  }
  return out;
}

function unquote(s: string): string {
  const q = s[0];
  if ((q === '`' || q === '"' || q === "'") && s.endsWith(q!) && s.length >= 2) return s.slice(1, -1);
  return s;
}

function stringComparison(
  dialect: StoreDialect,
  column: RawBuilder<unknown>,
  op: string,
  value: string,
): RawBuilder<boolean> {
  switch (op) {
    case '=':
      return sql<boolean>`${column} = ${value}`;
    case '!=':
      return sql<boolean>`${column} <> ${value}`;
    case 'LIKE':
      // Case-sensitive, as MLflow means it, on SQLite too (whose own LIKE ignores case).
      return dialect.like(column, value);
    case 'ILIKE':
      return dialect.ilike(column, value);
    default:
      throw invalid(`Invalid comparator '${op}' for a string field; use =, !=, LIKE or ILIKE`);
  }
}

const NUMERIC_OPS = new Set(['=', '!=', '<', '<=', '>', '>=']);

export function compileExperimentFilter(filter: string, dialect: StoreDialect): RawBuilder<boolean>[] {
  const tokens = tokenize(filter);
  const clauses: RawBuilder<boolean>[] = [];
  let i = 0;
  const next = () => tokens[i++];
  while (i < tokens.length) {
    const field = next();
    if (field?.kind !== 'ident')
      throw invalid(
        `Invalid filter '${filter}': expected a field at position ${field?.pos ?? filter.length}`,
      );
    const opTok = next();
    let op: string;
    if (opTok?.kind === 'op') op = opTok.text;
    else if (opTok?.kind === 'ident' && /^i?like$/i.test(opTok.text)) op = opTok.text.toUpperCase();
    else
      throw invalid(
        `Invalid filter '${filter}': expected a comparator at position ${opTok?.pos ?? filter.length}`,
      );
    const valueTok = next();
    if (!valueTok || (valueTok.kind !== 'string' && valueTok.kind !== 'number'))
      throw invalid(
        `Invalid filter '${filter}': expected a value at position ${valueTok?.pos ?? filter.length}`,
      );

    const dot = field.text.indexOf('.');
    const entity = dot < 0 ? 'attribute' : field.text.slice(0, dot).toLowerCase();
    const key = unquote(dot < 0 ? field.text : field.text.slice(dot + 1));
    if (entity === 'tag' || entity === 'tags') {
      if (valueTok.kind !== 'string')
        throw invalid(`Invalid filter '${filter}': tag values must be quoted strings`);
      const cond = stringComparison(dialect, sql`t.value`, op, valueTok.text);
      clauses.push(
        sql<boolean>`exists (select 1 from experiment_tags t where t.experiment_id = e.id and t.key = ${key} and ${cond})`,
      );
    } else if (entity === 'attribute' || entity === 'attributes') {
      if (key === 'name') {
        if (valueTok.kind !== 'string')
          throw invalid(`Invalid filter '${filter}': the name must be compared with a quoted string`);
        clauses.push(stringComparison(dialect, sql`e.name`, op, valueTok.text));
      } else if (key === 'creation_time' || key === 'last_update_time') {
        if (valueTok.kind !== 'number' || !NUMERIC_OPS.has(op))
          throw invalid(`Invalid filter '${filter}': ${key} takes a numeric comparison`);
        clauses.push(
          sql<boolean>`${sql.ref(`e.${key}`)} ${sql.raw(op === '!=' ? '<>' : op)} ${valueTok.value}`,
        );
      } else {
        throw invalid(
          `Invalid attribute key '${key}' specified. Valid keys are name, creation_time, last_update_time`,
        );
      }
    } else {
      throw invalid(`Invalid entity type '${entity}'. Valid values are ['attribute', 'tag']`);
    }
    if (i < tokens.length) {
      const and = next();
      if (and?.kind !== 'ident' || and.text.toLowerCase() !== 'and')
        throw invalid(`Invalid filter '${filter}': expected AND at position ${and?.pos}`);
      if (i >= tokens.length) throw invalid(`Invalid filter '${filter}': a clause must follow AND`);
    }
  }
  return clauses;
}

const ORDER_COLUMNS: Record<string, string> = {
  name: 'name',
  experiment_id: 'id',
  creation_time: 'creation_time',
  last_update_time: 'last_update_time',
};

/** order_by clauses: `name`, `experiment_id`, `creation_time`, `last_update_time` with ASC/DESC. */
export function parseExperimentOrderBy(orderBy: string[]): { column: string; desc: boolean }[] {
  return orderBy.map((clause) => {
    const m = /^\s*(?:attributes?\.)?(\w+)\s*(asc|desc)?\s*$/i.exec(clause);
    const column = m ? ORDER_COLUMNS[m[1]!] : undefined;
    if (!m || !column) throw invalid(`Invalid order_by clause '${clause}'`);
    return { column, desc: m[2]?.toLowerCase() === 'desc' };
  });
}
