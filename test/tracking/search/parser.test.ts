import { describe, expect, it } from 'vitest';
import { FalajError } from '../../../src/core/errors.js';
import { parseFilter, parseOrderBy } from '../../../src/tracking/search/index.js';

function errorOf(fn: () => unknown): FalajError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(FalajError);
    expect((err as FalajError).code).toBe('FALAJ_INVALID_ARGUMENT');
    return err as FalajError;
  }
  throw new Error('expected an error');
}

describe('parseFilter', () => {
  it('parses nothing from an empty or blank filter', () => {
    expect(parseFilter(undefined)).toEqual([]);
    expect(parseFilter('')).toEqual([]);
    expect(parseFilter('   \n\t')).toEqual([]);
  });

  it.each(['=', '!=', '>', '>=', '<', '<='])('metrics with %s', (op) => {
    expect(parseFilter(`metrics.auc ${op} 0.9`)).toEqual([{ entity: 'metric', key: 'auc', op, value: 0.9 }]);
    // No spaces needed around symbols.
    expect(parseFilter(`metrics.auc${op}0.9`)).toEqual([{ entity: 'metric', key: 'auc', op, value: 0.9 }]);
  });

  it.each([
    ['=', "'a'", 'a'],
    ['!=', "'a'", 'a'],
    ['LIKE', "'a%'", 'a%'],
    ['like', "'a%'", 'a%'],
    ['ILIKE', "'A_'", 'A_'],
    ['IN', "('a', 'b')", ['a', 'b']],
    ['in', "('a')", ['a']],
    ['NOT IN', "('a','b' , \"c\")", ['a', 'b', 'c']],
    ['not   in', "('a')", ['a']],
  ])('params, tags and string attributes with %s', (op, value, parsed) => {
    const norm = op.toUpperCase().replace(/\s+/, ' ');
    expect(parseFilter(`params.p ${op} ${value}`)).toEqual([
      { entity: 'param', key: 'p', op: norm, value: parsed },
    ]);
    expect(parseFilter(`tags.t ${op} ${value}`)).toEqual([
      { entity: 'tag', key: 't', op: norm, value: parsed },
    ]);
    expect(parseFilter(`attributes.status ${op} ${value}`)).toEqual([
      { entity: 'attribute', key: 'status', column: 'status', numeric: false, op: norm, value: parsed },
    ]);
  });

  it('accepts every entity alias, and bare attribute names', () => {
    for (const e of ['metric', 'metrics', 'METRICS'])
      expect(parseFilter(`${e}.m > 1`)[0]).toMatchObject({ entity: 'metric', key: 'm' });
    for (const e of ['param', 'params', 'parameter', 'parameters'])
      expect(parseFilter(`${e}.p = '1'`)[0]).toMatchObject({ entity: 'param', key: 'p' });
    for (const e of ['tag', 'tags']) expect(parseFilter(`${e}.t = '1'`)[0]).toMatchObject({ entity: 'tag' });
    for (const e of ['attribute', 'attributes', 'attr', 'run'])
      expect(parseFilter(`${e}.run_name = 'x'`)[0]).toMatchObject({ entity: 'attribute', column: 'name' });
    expect(parseFilter(`status = 'FAILED'`)[0]).toMatchObject({ entity: 'attribute', column: 'status' });
    expect(parseFilter("`run name` = 'x'")[0]).toMatchObject({ entity: 'attribute', column: 'name' });
    expect(parseFilter('attributes.created > 5')[0]).toMatchObject({ column: 'start_time', numeric: true });
    expect(parseFilter(`attributes.run_id IN ('a','b')`)[0]).toMatchObject({
      column: 'id',
      value: ['a', 'b'],
    });
  });

  it('quotes keys with backticks or double quotes, and allows dots in bare keys', () => {
    expect(parseFilter('metrics.`f1 score` > 0')[0]).toMatchObject({ key: 'f1 score' });
    expect(parseFilter('tags."mlflow.source" = \'x\'')[0]).toMatchObject({ key: 'mlflow.source' });
    expect(parseFilter("tags.'odd key' = 'x'")[0]).toMatchObject({ key: 'odd key' });
    expect(parseFilter("tags.mlflow.source.type = 'x'")[0]).toMatchObject({ key: 'mlflow.source.type' });
    expect(parseFilter("metrics.`a'--` > 0")[0]).toMatchObject({ key: "a'--" });
    expect(parseFilter('metrics.`=` > 0')[0]).toMatchObject({ key: '=' });
    expect(parseFilter('metrics.1st > 0')[0]).toMatchObject({ key: '1st' });
  });

  it('reads strings in single or double quotes, with their escapes', () => {
    const v = (f: string) => parseFilter(f)[0]!.value;
    expect(v("params.p = 'it''s'")).toBe("it's");
    expect(v("params.p = 'it\\'s'")).toBe("it's");
    expect(v('params.p = "say ""hi"""')).toBe('say "hi"');
    expect(v('params.p = "say \\"hi\\""')).toBe('say "hi"');
    expect(v('params.p = "it\'s"')).toBe("it's");
    expect(v("params.p = 'a\\%b\\\\c'")).toBe('a\\%b\\\\c');
    expect(v("params.p = ''")).toBe('');
    expect(v("params.p = 'naïve 😀'")).toBe('naïve 😀');
    expect(v("params.p = 'a and b = 1'")).toBe('a and b = 1');
  });

  it('reads numbers: integers, decimals, exponents, signs', () => {
    const v = (n: string) => parseFilter(`metrics.m > ${n}`)[0]!.value;
    expect(v('42')).toBe(42);
    expect(v('-42')).toBe(-42);
    expect(v('+3')).toBe(3);
    expect(v('0.25')).toBe(0.25);
    expect(v('.5')).toBe(0.5);
    expect(v('5.')).toBe(5);
    expect(v('-.5')).toBe(-0.5);
    expect(v('1e3')).toBe(1000);
    expect(v('1.5E-3')).toBe(0.0015);
    expect(v('2e+2')).toBe(200);
    expect(v('1e999')).toBe(Number.POSITIVE_INFINITY);
    expect(v('-1e999')).toBe(Number.NEGATIVE_INFINITY);
    expect(parseFilter('attributes.start_time >= 1700000000000')[0]!.value).toBe(1700000000000);
  });

  it('joins clauses with a case-insensitive AND', () => {
    const f = "metrics.a > 1 and params.b = 'x' AND tags.c != 'y' aNd attributes.status = 'FAILED'";
    expect(parseFilter(f).map((c) => c.entity)).toEqual(['metric', 'param', 'tag', 'attribute']);
    expect(parseFilter("metrics.a>1 AND params.b='x'")).toHaveLength(2);
  });

  it.each([
    ['metrics.auc >', 13, "expected a value after '>'"],
    ['metrics.auc', 11, "expected a comparator after 'metrics.auc'"],
    ["params.x = 'unterminated", 11, 'unterminated string'],
    ['params.x = "unterminated', 11, 'unterminated string'],
    ['metrics.`f1 score > 0', 8, 'unterminated backtick'],
    ["foo.bar = 'x'", 0, "unknown entity 'foo'"],
    ["datasets.name = 'x'", 0, "unknown entity 'datasets'"],
    ["attributes.color = 'x'", 0, "unknown attribute 'color'"],
    ["nonsense = 'x'", 0, "unknown attribute 'nonsense'"],
    ["metrics.auc LIKE '0.9'", 12, "comparator 'LIKE' is not allowed for metrics"],
    ["metrics.auc IN ('1')", 12, "comparator 'IN' is not allowed for metrics"],
    ['params.p > 5', 9, "comparator '>' is not allowed for strings"],
    ["tags.t >= 'a'", 7, "comparator '>=' is not allowed for strings"],
    ["attributes.start_time LIKE '1%'", 22, "comparator 'LIKE' is not allowed for attribute 'start_time'"],
    ["metrics.auc > '0.9'", 14, "expected a number for metric 'auc'"],
    ['metrics.auc > abc', 14, "expected a number for metric 'auc'"],
    ["attributes.end_time = 'x'", 22, "expected a number for attribute 'end_time'"],
    ['params.p = 5', 11, 'expected a quoted string for params.p'],
    ['params.p = abc', 11, 'expected a quoted string'],
    ['metrics.`` > 0', 8, 'empty key'],
    ['metrics. > 0', 8, "expected a key after 'metrics.'"],
    ['metrics > 0', 7, "expected '.<key>' after 'metrics'"],
    ['metrics.a > 1 and', 17, "expected a clause after 'and'"],
    ['metrics.a > 1 or metrics.b > 2', 14, "expected 'and' or the end of the filter"],
    ['metrics.a > 1 metrics.b > 2', 14, "expected 'and' or the end of the filter"],
    ['metrics.a <> 1', 10, "comparator '<>' is not supported"],
    ["params.a == 'x'", 9, "comparator '==' is not supported"],
    ["params.a NOT LIKE 'x'", 13, "expected 'IN' after 'NOT'"],
    ["params.a IN 'x'", 12, "expected '(' after 'IN'"],
    ["params.a IN ('x',)", 17, 'expected a quoted string'],
    ['params.a IN ()', 13, 'expected a quoted string'],
    ["params.a IN ('x' 'y')", 17, "expected ',' or ')'"],
    ["params.a IN ('x'", 16, "expected ',' or ')'"],
    ['params.a IN (1, 2)', 13, 'expected a quoted string'],
    ["params.a = 'x' ; drop table runs", 15, 'unexpected character ";"'],
    ['metrics.a > 1e', 12, 'malformed number'],
    ['metrics.a > 0x10', 12, 'malformed number'],
    ['metrics.a > 1.2.3', 12, 'malformed number'],
    ["params.a = 'x' -- comment", 15, 'unexpected character "-"'],
    ['(metrics.a > 1)', 0, 'expected an identifier'],
    ["'x' = params.a", 0, "expected an identifier such as metrics.<key>, found ''x''"],
    ['= 1', 0, 'expected an identifier'],
    ["params.a = 'x\0'", 13, 'unexpected NUL character'],
    ['params.a IS NULL', 9, "expected a comparator after 'params.a'"],
  ])('%j fails at position %i: %s', (filter, pos, message) => {
    const err = errorOf(() => parseFilter(filter));
    expect(err.message).toContain(message);
    expect(err.message).toContain(`at position ${pos}:`);
    expect(err.message.startsWith('filter: ')).toBe(true);
    expect(err.details).toMatchObject({ position: pos });
  });

  it('names the position and the whole filter, as in the example', () => {
    expect(errorOf(() => parseFilter('metrics.auc >')).message).toBe(
      "filter: expected a value after '>' at position 13: metrics.auc >",
    );
  });

  it('bounds the size of a filter', () => {
    const many = Array.from({ length: 41 }, (_, i) => `metrics.m${i} > 0`).join(' and ');
    expect(errorOf(() => parseFilter(many)).message).toContain('too many clauses');
    const list = `params.p IN (${Array.from({ length: 1001 }, (_, i) => `'${i}'`).join(',')})`;
    expect(errorOf(() => parseFilter(list)).message).toContain('too many values');
  });
});

describe('parseOrderBy', () => {
  it('parses entity, key and direction (ascending by default)', () => {
    expect(
      parseOrderBy(['metrics.auc DESC', 'attributes.start_time ASC', 'params.depth', 'tags.x desc']),
    ).toEqual([
      { entity: 'metric', key: 'auc', ascending: false },
      {
        entity: 'attribute',
        key: 'start_time',
        column: 'start_time',
        nullable: false,
        numeric: true,
        ascending: true,
      },
      { entity: 'param', key: 'depth', ascending: true },
      { entity: 'tag', key: 'x', ascending: false },
    ]);
    expect(parseOrderBy(['metrics.`f1 score` desc'])[0]).toMatchObject({ key: 'f1 score', ascending: false });
    expect(parseOrderBy(['tags."mlflow.source"'])[0]).toMatchObject({ key: 'mlflow.source' });
    expect(parseOrderBy(['end_time'])[0]).toMatchObject({ column: 'end_time', nullable: true });
    expect(parseOrderBy(['attr.experiment_id'])[0]).toMatchObject({ column: 'experiment_id' });
    expect(parseOrderBy(undefined)).toEqual([]);
    expect(parseOrderBy([])).toEqual([]);
  });

  it.each([
    ['metrics.auc DESCENDING', 12, "expected 'ASC', 'DESC'"],
    ['metrics.auc DESC extra', 17, 'expected the end'],
    ['metrics.', 8, 'expected a key'],
    ['foo.auc', 0, "unknown entity 'foo'"],
    ['attributes.color', 0, "unknown attribute 'color'"],
    ['metrics.auc, params.x', 11, "expected 'ASC', 'DESC'"],
    ['', 0, 'empty order_by term'],
    ['`', 0, 'unterminated'],
  ])('%j fails at position %i: %s', (term, pos, message) => {
    const err = errorOf(() => parseOrderBy([term]));
    expect(err.message).toContain(message);
    expect(err.message).toContain(`at position ${pos}`);
    expect(err.message.startsWith('order_by: ')).toBe(true);
  });

  it('bounds the number of terms', () => {
    expect(errorOf(() => parseOrderBy(Array.from({ length: 11 }, () => 'metrics.a'))).message).toContain(
      'at most',
    );
  });
});
