// A hand-written recursive-descent parser of MLflow's run filter and order_by grammar:
//   filter   := '' | clause ('and' clause)*            ('and' in any case)
//   clause   := ident comparator value
//   ident    := entity '.' key | attribute-key          (key: bare, `backticked` or "quoted")
//   value    := number | 'string' | "string" | '(' string (',' string)* ')'
//   order_by := ident ['asc' | 'desc']
import { FalajError } from '../../core/errors.js';
import { type Subject, syntaxError, type Token, tokenize } from './lexer.js';

export type Entity = 'metric' | 'param' | 'tag' | 'attribute';
export type NumericComparator = '=' | '!=' | '>' | '>=' | '<' | '<=';
export type StringComparator = '=' | '!=' | 'LIKE' | 'ILIKE' | 'IN' | 'NOT IN';
export type Comparator = NumericComparator | StringComparator;

/** The `runs` columns that attributes name. */
export type RunColumn =
  | 'id'
  | 'name'
  | 'status'
  | 'user_id'
  | 'artifact_uri'
  | 'start_time'
  | 'end_time'
  | 'experiment_id';

interface AttributeInfo {
  column: RunColumn;
  numeric: boolean;
  nullable: boolean;
}

/** Attribute keys, with MLflow's aliases (`created`, `run name`). */
const ATTRIBUTES: Record<string, AttributeInfo> = {
  run_id: { column: 'id', numeric: false, nullable: false },
  run_name: { column: 'name', numeric: false, nullable: false },
  'run name': { column: 'name', numeric: false, nullable: false },
  'Run name': { column: 'name', numeric: false, nullable: false },
  'Run Name': { column: 'name', numeric: false, nullable: false },
  status: { column: 'status', numeric: false, nullable: false },
  user_id: { column: 'user_id', numeric: false, nullable: false },
  artifact_uri: { column: 'artifact_uri', numeric: false, nullable: false },
  experiment_id: { column: 'experiment_id', numeric: false, nullable: false },
  start_time: { column: 'start_time', numeric: true, nullable: false },
  created: { column: 'start_time', numeric: true, nullable: false },
  Created: { column: 'start_time', numeric: true, nullable: false },
  end_time: { column: 'end_time', numeric: true, nullable: true },
};
const ATTRIBUTE_KEYS = 'run_id, run_name, status, user_id, artifact_uri, experiment_id, start_time, end_time';

const ENTITIES: Record<string, Entity> = {
  metric: 'metric',
  metrics: 'metric',
  param: 'param',
  params: 'param',
  parameter: 'param',
  parameters: 'param',
  tag: 'tag',
  tags: 'tag',
  attribute: 'attribute',
  attributes: 'attribute',
  attr: 'attribute',
  run: 'attribute',
};

const NUMERIC_OPS: readonly string[] = ['=', '!=', '>', '>=', '<', '<='];
const STRING_OPS: readonly string[] = ['=', '!=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'];

export type Clause =
  | { entity: 'metric'; key: string; op: NumericComparator; value: number }
  | { entity: 'param' | 'tag'; key: string; op: StringComparator; value: string | string[] }
  | {
      entity: 'attribute';
      key: string;
      column: RunColumn;
      numeric: true;
      op: NumericComparator;
      value: number;
    }
  | {
      entity: 'attribute';
      key: string;
      column: RunColumn;
      numeric: false;
      op: StringComparator;
      value: string | string[];
    };

export type OrderTerm =
  | { entity: 'metric' | 'param' | 'tag'; key: string; ascending: boolean }
  | {
      entity: 'attribute';
      key: string;
      column: RunColumn;
      nullable: boolean;
      numeric: boolean;
      ascending: boolean;
    };

/** Bounds that keep one query small and within both databases' limits on parameters and compound selects. */
export const MAX_CLAUSES = 40;
export const MAX_ORDER_TERMS = 10;
export const MAX_LIST_VALUES = 1000;

interface Identifier {
  entity: Entity;
  key: string;
  attribute?: AttributeInfo;
  /** The identifier as written, for messages. */
  text: string;
  pos: number;
}

class Parser {
  private i = 0;
  constructor(
    private readonly input: string,
    private readonly subject: Subject,
    private readonly tokens: Token[],
  ) {}

  peek(): Token {
    return this.tokens[this.i]!;
  }
  next(): Token {
    const t = this.tokens[this.i]!;
    if (t.kind !== 'eof') this.i++;
    return t;
  }
  fail(pos: number, message: string): FalajError {
    return syntaxError(this.subject, this.input, pos, message);
  }
  isWord(t: Token, word: string): boolean {
    return t.kind === 'name' && t.value.toUpperCase() === word;
  }

  identifier(): Identifier {
    const t = this.next();
    const pos = t.pos;
    if (t.kind === 'backtick' || (t.kind === 'string' && t.quote === '"')) {
      // A quoted name without an entity is an attribute, as in MLflow (`"run name"`).
      return this.attribute(t.value, pos, this.input.slice(t.pos, t.end));
    }
    if (t.kind !== 'name') {
      const what = t.kind === 'eof' ? 'the end' : `'${this.input.slice(t.pos, t.end)}'`;
      throw this.fail(pos, `expected an identifier such as metrics.<key>, found ${what}`);
    }
    const dot = t.value.indexOf('.');
    if (dot < 0) {
      if (ENTITIES[t.value.toLowerCase()]) throw this.fail(t.end, `expected '.<key>' after '${t.value}'`);
      return this.attribute(t.value, pos, t.value);
    }
    const word = t.value.slice(0, dot);
    const entity = ENTITIES[word.toLowerCase()];
    if (!entity)
      throw this.fail(pos, `unknown entity '${word}' (expected metrics, params, tags or attributes)`);
    let key = t.value.slice(dot + 1);
    let end = t.end;
    if (key === '') {
      const q = this.peek();
      if ((q.kind === 'backtick' || q.kind === 'string') && q.pos === t.end) {
        this.next();
        key = q.value;
        end = q.end;
      } else {
        throw this.fail(t.end, `expected a key after '${t.value}'`);
      }
    }
    if (key === '') throw this.fail(t.end, 'empty key');
    const text = this.input.slice(pos, end);
    if (entity === 'attribute') return this.attribute(key, pos, text);
    return { entity, key, text, pos };
  }

  attribute(key: string, pos: number, text: string): Identifier {
    if (key === '') throw this.fail(pos, 'empty key');
    const info = Object.hasOwn(ATTRIBUTES, key) ? ATTRIBUTES[key] : undefined;
    if (!info) throw this.fail(pos, `unknown attribute '${key}' (expected one of ${ATTRIBUTE_KEYS})`);
    return { entity: 'attribute', key, attribute: info, text, pos };
  }

  comparator(id: Identifier): { op: Comparator; text: string; pos: number } {
    const t = this.next();
    let op: string;
    if (t.kind === 'op') {
      if (t.value === '<>' || t.value === '==')
        throw this.fail(
          t.pos,
          `comparator '${t.value}' is not supported (use ${t.value === '<>' ? "'!='" : "'='"})`,
        );
      op = t.value;
    } else if (this.isWord(t, 'LIKE') || this.isWord(t, 'ILIKE') || this.isWord(t, 'IN')) {
      op = t.value.toUpperCase();
    } else if (this.isWord(t, 'NOT')) {
      const n = this.next();
      if (!this.isWord(n, 'IN')) throw this.fail(n.pos, `expected 'IN' after 'NOT'`);
      op = 'NOT IN';
    } else {
      throw this.fail(t.pos, `expected a comparator after '${id.text}'`);
    }
    const numeric = id.entity === 'metric' || id.attribute?.numeric === true;
    const allowed = numeric ? NUMERIC_OPS : STRING_OPS;
    if (!allowed.includes(op)) {
      const what = numeric ? (id.entity === 'metric' ? 'metrics' : `attribute '${id.key}'`) : 'strings';
      throw this.fail(
        t.pos,
        `comparator '${op}' is not allowed for ${what} (expected one of ${allowed.join(' ')})`,
      );
    }
    return { op: op as Comparator, text: this.input.slice(t.pos, this.tokens[this.i - 1]!.end), pos: t.pos };
  }

  numberValue(id: Identifier, opText: string): number {
    const t = this.next();
    if (t.kind === 'eof') throw this.fail(t.pos, `expected a value after '${opText}'`);
    if (t.kind !== 'number') {
      const what = id.entity === 'metric' ? `metric '${id.key}'` : `attribute '${id.key}'`;
      throw this.fail(t.pos, `expected a number for ${what}, found '${this.input.slice(t.pos, t.end)}'`);
    }
    return Number(t.value);
  }

  stringValue(id: Identifier, opText: string): string {
    const t = this.next();
    if (t.kind === 'eof') throw this.fail(t.pos, `expected a value after '${opText}'`);
    if (t.kind !== 'string')
      throw this.fail(
        t.pos,
        `expected a quoted string for ${id.text} (e.g. 'my-value'), found '${this.input.slice(t.pos, t.end)}'`,
      );
    return t.value;
  }

  listValue(id: Identifier, opText: string): string[] {
    const open = this.next();
    if (open.kind === 'eof') throw this.fail(open.pos, `expected a value after '${opText}'`);
    if (open.kind !== '(') throw this.fail(open.pos, `expected '(' after '${opText}'`);
    const values: string[] = [];
    for (;;) {
      values.push(this.stringValue(id, values.length === 0 ? '(' : ','));
      const t = this.next();
      if (t.kind === ')') return values;
      if (t.kind !== ',') throw this.fail(t.pos, `expected ',' or ')' in the list`);
    }
  }

  clause(): Clause {
    const id = this.identifier();
    const { op, text } = this.comparator(id);
    if (id.entity === 'metric') {
      return {
        entity: 'metric',
        key: id.key,
        op: op as NumericComparator,
        value: this.numberValue(id, text),
      };
    }
    const info = id.attribute;
    if (info?.numeric) {
      return {
        entity: 'attribute',
        key: id.key,
        column: info.column,
        numeric: true,
        op: op as NumericComparator,
        value: this.numberValue(id, text),
      };
    }
    const value = op === 'IN' || op === 'NOT IN' ? this.listValue(id, text) : this.stringValue(id, text);
    if (info) {
      return {
        entity: 'attribute',
        key: id.key,
        column: info.column,
        numeric: false,
        op: op as StringComparator,
        value,
      };
    }
    return { entity: id.entity as 'param' | 'tag', key: id.key, op: op as StringComparator, value };
  }

  filter(): Clause[] {
    const clauses: Clause[] = [];
    if (this.peek().kind === 'eof') return clauses;
    let listValues = 0;
    for (;;) {
      const start = this.peek().pos;
      const c = this.clause();
      clauses.push(c);
      if (clauses.length > MAX_CLAUSES) throw this.fail(start, `too many clauses (at most ${MAX_CLAUSES})`);
      if (Array.isArray(c.value)) {
        listValues += c.value.length;
        if (listValues > MAX_LIST_VALUES)
          throw this.fail(start, `too many values in IN lists (at most ${MAX_LIST_VALUES})`);
      }
      const t = this.next();
      if (t.kind === 'eof') return clauses;
      if (!this.isWord(t, 'AND')) throw this.fail(t.pos, `expected 'and' or the end of the filter`);
      if (this.peek().kind === 'eof')
        throw this.fail(this.peek().pos, `expected a clause after '${t.value}'`);
    }
  }

  orderTerm(): OrderTerm {
    const id = this.identifier();
    let ascending = true;
    const t = this.next();
    if (this.isWord(t, 'ASC') || this.isWord(t, 'DESC')) {
      ascending = t.value.toUpperCase() === 'ASC';
      const e = this.next();
      if (e.kind !== 'eof') throw this.fail(e.pos, `expected the end of the order_by term`);
    } else if (t.kind !== 'eof') {
      throw this.fail(t.pos, `expected 'ASC', 'DESC' or the end of the order_by term`);
    }
    if (id.attribute) {
      const a = id.attribute;
      return {
        entity: 'attribute',
        key: id.key,
        column: a.column,
        nullable: a.nullable,
        numeric: a.numeric,
        ascending,
      };
    }
    return { entity: id.entity as 'metric' | 'param' | 'tag', key: id.key, ascending };
  }
}

/** Parses a search filter; an empty or blank filter is no clause. Throws FALAJ_INVALID_ARGUMENT. */
export function parseFilter(filter: string | undefined): Clause[] {
  if (filter === undefined) return [];
  const parser = new Parser(filter, 'filter', tokenize(filter, 'filter'));
  return parser.filter();
}

/** Parses order_by terms (`metrics.auc DESC`, `attributes.start_time`, ...). */
export function parseOrderBy(orderBy: readonly string[] | undefined): OrderTerm[] {
  if (!orderBy) return [];
  if (orderBy.length > MAX_ORDER_TERMS)
    throw new FalajError('FALAJ_INVALID_ARGUMENT', `order_by: at most ${MAX_ORDER_TERMS} terms`);
  return orderBy.map((term) => {
    if (term.trim() === '') throw syntaxError('order_by', term, 0, 'empty order_by term');
    return new Parser(term, 'order_by', tokenize(term, 'order_by')).orderTerm();
  });
}
