// MLflow's scoring server (/invocations) codec, tested from MLflow's documented request bodies
// (the `mlflow models serve` docs: dataframe_split, dataframe_records, instances, inputs, CSV)
// and scoring_server/__init__.py's content types and error shape.
import { describe, expect, it } from 'vitest';
import { InferenceProtocolError } from '../../../src/serving/protocols/errors.js';
import {
  encodeMlflowPredictions,
  MLFLOW_PING_BODY,
  mlflowPredictMethod,
  parseMlflowInvocation,
} from '../../../src/serving/protocols/mlflow-scoring.js';
import type { ColumnData, ModelSignature } from '../../../src/serving/protocols/model-io.js';

const ABC: ModelSignature = {
  inputs: [
    { name: 'a', type: 'double' },
    { name: 'b', type: 'double' },
    { name: 'c', type: 'double' },
  ],
  outputs: [{ name: 'predict', type: 'double' }],
};

const SB: ModelSignature = {
  inputs: [
    { name: 'a', type: 'string' },
    { name: 'b', type: 'int64' },
  ],
  outputs: [{ name: 'predict', type: 'double' }],
};

const JSON_TYPE = 'application/json';

function nums(col: ColumnData | undefined): number[] {
  return Array.from(col as Float64Array);
}

function mlflowError(fn: () => unknown): InferenceProtocolError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InferenceProtocolError);
    return err as InferenceProtocolError;
  }
  throw new Error('expected an InferenceProtocolError');
}

/** A 400 in MLflow's shape {"error_code": "BAD_REQUEST", "message": ...}; returns the message. */
function bad(contentType: string, body: unknown, signature: ModelSignature = ABC): string {
  const e = mlflowError(() => parseMlflowInvocation(contentType, body, signature));
  expect(e.status).toBe(400);
  expect(e.contentType).toBe('application/json');
  expect(e.body).toEqual({ error_code: 'BAD_REQUEST', message: e.message });
  return e.message;
}

describe('MLflow /invocations: JSON', () => {
  it("parses the docs' dataframe_split example (a raw JSON string body)", () => {
    const body = '{"dataframe_split": {"columns": ["a", "b", "c"], "data": [[1, 2, 3], [4, 5, 6]]}}';
    const parsed = parseMlflowInvocation(JSON_TYPE, body, ABC);
    expect(parsed.format).toBe('dataframe_split');
    expect(parsed.batch.rows).toBe(2);
    expect(nums(parsed.batch.columns.get('a'))).toEqual([1, 4]);
    expect(nums(parsed.batch.columns.get('c'))).toEqual([3, 6]);
    expect(parsed.ignoredColumns).toEqual([]);
  });

  it('takes dataframe_split with an index, columns in another order, and params', () => {
    const body = {
      dataframe_split: {
        index: [10, 11],
        columns: ['c', 'a', 'b'],
        data: [
          [3, 1, 2],
          [6, 4, 5],
        ],
      },
      params: { predict_method: 'predict_proba' },
    };
    const parsed = parseMlflowInvocation('application/json; charset=utf-8', body, ABC);
    expect(nums(parsed.batch.columns.get('a'))).toEqual([1, 4]);
    expect(nums(parsed.batch.columns.get('c'))).toEqual([3, 6]);
    expect(parsed.params).toEqual({ predict_method: 'predict_proba' });
    expect(mlflowPredictMethod(parsed.params)).toBe('predict_proba');
  });

  it("parses the docs' dataframe_records example", () => {
    const body = {
      dataframe_records: [
        { a: 1, b: 2, c: 3 },
        { a: 4, b: 5, c: 6 },
      ],
    };
    const parsed = parseMlflowInvocation(JSON_TYPE, body, ABC);
    expect(parsed.format).toBe('dataframe_records');
    expect(nums(parsed.batch.columns.get('b'))).toEqual([2, 5]);
  });

  it("parses the docs' instances example (records) for the tabular columns a and b", () => {
    const body = {
      instances: [
        { a: 's1', b: 1 },
        { a: 's2', b: 2 },
        { a: 's3', b: 3 },
      ],
    };
    const parsed = parseMlflowInvocation(JSON_TYPE, body, SB);
    expect(parsed.format).toBe('instances');
    expect(parsed.batch.columns.get('a')).toEqual(['s1', 's2', 's3']);
    expect(nums(parsed.batch.columns.get('b'))).toEqual([1, 2, 3]);
  });

  it("refuses the docs' tensor-valued column c for a tabular model", () => {
    const body = { instances: [{ a: 's1', b: 1, c: [1, 2, 3] }] };
    const signature: ModelSignature = { inputs: [...SB.inputs, { name: 'c', type: 'double' }], outputs: [] };
    expect(bad(JSON_TYPE, body, signature)).toMatch(
      /instance 0, column 'c': expected a number .* got an array/,
    );
  });

  it("parses the docs' inputs example (an object of columns)", () => {
    const body = { inputs: { a: ['s1', 's2', 's3'], b: [1, 2, 3] } };
    const parsed = parseMlflowInvocation(JSON_TYPE, body, SB);
    expect(parsed.format).toBe('inputs');
    expect(parsed.batch.rows).toBe(3);
    expect(parsed.batch.columns.get('a')).toEqual(['s1', 's2', 's3']);
  });

  it('takes instances and inputs as lists of rows (the columns in signature order) and of scalars', () => {
    const rows = parseMlflowInvocation(
      JSON_TYPE,
      {
        inputs: [
          [1, 2, 3],
          [4, 5, 6],
        ],
      },
      ABC,
    );
    expect(nums(rows.batch.columns.get('b'))).toEqual([2, 5]);
    const inst = parseMlflowInvocation(JSON_TYPE, { instances: [[1, 2, 3]] }, ABC);
    expect(nums(inst.batch.columns.get('c'))).toEqual([3]);
    const single: ModelSignature = { inputs: [{ name: 'x', type: 'float' }], outputs: [] };
    expect(
      nums(parseMlflowInvocation(JSON_TYPE, { instances: [1.5, 2.5] }, single).batch.columns.get('x')),
    ).toEqual([1.5, 2.5]);
    const oneRow = parseMlflowInvocation(JSON_TYPE, { inputs: { a: 1, b: 2, c: 3 } }, ABC);
    expect(oneRow.batch.rows).toBe(1);
  });

  it('drops columns the model does not take, as MLflow does, and says which', () => {
    const body = { dataframe_split: { columns: ['a', 'b', 'c', 'label'], data: [[1, 2, 3, 0]] } };
    const parsed = parseMlflowInvocation(JSON_TYPE, body, ABC);
    expect(parsed.ignoredColumns).toEqual(['label']);
    expect([...parsed.batch.columns.keys()]).toEqual(['a', 'b', 'c']);
  });

  it('fills an absent column that takes missing values; null is missing there', () => {
    const signature: ModelSignature = {
      inputs: [
        { name: 'a', type: 'double' },
        { name: 'note', type: 'string', missing: true },
        { name: 'b', type: 'double', missing: true },
      ],
      outputs: [],
    };
    const parsed = parseMlflowInvocation(
      JSON_TYPE,
      { dataframe_records: [{ a: 1 }, { a: 2, b: null }] },
      signature,
    );
    expect(parsed.batch.columns.get('note')).toEqual([null, null]);
    expect(nums(parsed.batch.columns.get('b'))).toEqual([Number.NaN, Number.NaN]);
  });

  describe('bad input: each a 400 with {"error_code": "BAD_REQUEST", "message"}', () => {
    it('malformed JSON', () => {
      expect(bad(JSON_TYPE, '{"dataframe_split": ')).toMatch(/Failed to parse input as JSON/);
    });
    it('not exactly one input format', () => {
      expect(bad(JSON_TYPE, { data: [[1, 2, 3]] })).toMatch(
        /exactly one of the fields 'dataframe_split'.*got 'data'/,
      );
      expect(bad(JSON_TYPE, { instances: [[1, 2, 3]], inputs: [[1, 2, 3]] })).toMatch(
        /got 'instances', 'inputs'/,
      );
      expect(bad(JSON_TYPE, { params: {} })).toMatch(/got none/);
      expect(bad(JSON_TYPE, [[1, 2, 3]])).toMatch(/must be a JSON object/);
    });
    it('a missing column', () => {
      expect(bad(JSON_TYPE, { dataframe_records: [{ a: 1, b: 2 }] })).toMatch(/Model is missing inputs 'c'/);
      expect(bad(JSON_TYPE, { dataframe_split: { columns: ['a'], data: [[1]] } })).toMatch(
        /missing inputs 'b', 'c'/,
      );
    });
    it('a record lacking a value of a column that takes none', () => {
      expect(
        bad(JSON_TYPE, {
          dataframe_records: [
            { a: 1, b: 2, c: 3 },
            { a: 4, b: 5 },
          ],
        }),
      ).toMatch(/record 1, column 'c': a missing value where column 'c' takes none/);
    });
    it('a row of the wrong length', () => {
      expect(
        bad(JSON_TYPE, {
          dataframe_split: {
            columns: ['a', 'b', 'c'],
            data: [
              [1, 2, 3],
              [4, 5],
            ],
          },
        }),
      ).toMatch(/row 1 has 2 values; expected 3/);
      expect(bad(JSON_TYPE, { instances: [[1, 2]] })).toMatch(/instance 0 has 2 values; expected 3/);
    });
    it('strings in a numeric column, a non-integer in an integer column', () => {
      expect(bad(JSON_TYPE, { dataframe_split: { columns: ['a', 'b', 'c'], data: [[1, '2', 3]] } })).toMatch(
        /row 0, column 'b': expected a number for column 'b' \(double\), got the string "2"/,
      );
      expect(bad(JSON_TYPE, { inputs: { a: ['x'], b: [1.5] } }, SB)).toMatch(/1.5 is not an integer/);
      expect(bad(JSON_TYPE, { inputs: { a: [1], b: [1] } }, SB)).toMatch(/expected a string for column 'a'/);
    });
    it('null (NaN in pandas) or an infinity where the column takes none', () => {
      expect(bad(JSON_TYPE, { dataframe_split: { columns: ['a', 'b', 'c'], data: [[1, null, 3]] } })).toMatch(
        /a missing value where column 'b' takes none/,
      );
      expect(bad(JSON_TYPE, '{"instances": [[1, 2, 1e999]]}')).toMatch(
        /Infinity where column 'c' takes no infinity/,
      );
    });
    it('columns of different lengths, a column given twice, a bad index', () => {
      expect(bad(JSON_TYPE, { inputs: { a: [1, 2], b: [1], c: [1, 2] } })).toMatch(
        /'b' has 1 values, 'a' has 2/,
      );
      expect(
        bad(JSON_TYPE, { dataframe_split: { columns: ['a', 'a', 'b', 'c'], data: [[1, 1, 2, 3]] } }),
      ).toMatch(/column 'a' is given twice/);
      expect(
        bad(JSON_TYPE, { dataframe_split: { columns: ['a', 'b', 'c'], data: [[1, 2, 3]], index: [] } }),
      ).toMatch(/'dataframe_split.index' must be a list as long as 'data'/);
    });
    it('single values for a model of several columns; no rows', () => {
      expect(bad(JSON_TYPE, { instances: [1, 2, 3] })).toMatch(
        /holds single values but the model takes 3 columns/,
      );
      expect(bad(JSON_TYPE, { dataframe_records: [] })).toMatch(/no rows/);
    });
    it('an unknown predict_method', () => {
      const e = mlflowError(() => mlflowPredictMethod({ predict_method: 'transform' }));
      expect(e.status).toBe(400);
      expect(e.body).toEqual({ error_code: 'BAD_REQUEST', message: expect.stringMatching(/predict_method/) });
    });
  });
});

describe('MLflow /invocations: text/csv', () => {
  it('parses a header row and rows, quoted fields with commas, escaped quotes and line breaks, CRLF', () => {
    const csv = 'a,b\r\n"Muscat, OM",1\r\n"say ""hi""",2\r\n"two\nlines",3\r\n';
    const parsed = parseMlflowInvocation('text/csv', csv, SB);
    expect(parsed.format).toBe('csv');
    expect(parsed.batch.columns.get('a')).toEqual(['Muscat, OM', 'say "hi"', 'two\nlines']);
    expect(nums(parsed.batch.columns.get('b'))).toEqual([1, 2, 3]);
  });

  it('takes a Buffer, a BOM, blank lines, no trailing newline, columns in any order, numbers in any decimal form', () => {
    const csv = Buffer.from('\uFEFFc,b,a\n\n3,2.5e1,-.5\n 6 ,+5,4.');
    const parsed = parseMlflowInvocation('text/csv; charset=UTF-8', csv, ABC);
    expect(nums(parsed.batch.columns.get('a'))).toEqual([-0.5, 4]);
    expect(nums(parsed.batch.columns.get('b'))).toEqual([25, 5]);
    expect(nums(parsed.batch.columns.get('c'))).toEqual([3, 6]);
  });

  it('reads empty cells and NaN as missing where the column takes them; bools as true/false/1/0', () => {
    const signature: ModelSignature = {
      inputs: [
        { name: 'x', type: 'double', missing: true },
        { name: 's', type: 'string', missing: true },
        { name: 'f', type: 'bool' },
      ],
      outputs: [],
    };
    const parsed = parseMlflowInvocation('text/csv', 'x,s,f\n,,True\nNaN,z,0\n', signature);
    expect(nums(parsed.batch.columns.get('x'))).toEqual([Number.NaN, Number.NaN]);
    expect(parsed.batch.columns.get('s')).toEqual([null, 'z']);
    expect(nums(parsed.batch.columns.get('f'))).toEqual([1, 0]);
  });

  describe('bad CSV: each a 400 in MLflow shape, with the line number', () => {
    it('a ragged row', () => {
      expect(bad('text/csv', 'a,b,c\n1,2,3\n4,5\n7,8,9\n')).toMatch(
        /CSV line 3 has 2 fields; the header \(line 1\) has 3/,
      );
      expect(bad('text/csv', 'a,b,c\n1,2,3,4\n')).toMatch(/CSV line 2 has 4 fields/);
    });
    it('a quoted field never closed', () => {
      expect(bad('text/csv', 'a,b\n"x",1\n"open,2\n3,4\n', SB)).toMatch(
        /CSV line 3: a quoted field is never closed/,
      );
    });
    it('text after a closing quote', () => {
      expect(bad('text/csv', 'a,b\n"x"y,1\n', SB)).toMatch(/CSV line 2: text after the closing quote/);
    });
    it('a string in a numeric column, an infinity, an empty cell where none is allowed', () => {
      expect(bad('text/csv', 'a,b,c\n1,2,3\n1,abc,3\n')).toMatch(
        /CSV line 3, column 'b': the string "abc" where column 'b' \(double\) takes numbers/,
      );
      expect(bad('text/csv', 'a,b,c\n1,inf,3\n')).toMatch(
        /CSV line 2, column 'b': Infinity where column 'b' takes no infinity/,
      );
      expect(bad('text/csv', 'a,b,c\n1,,3\n')).toMatch(/CSV line 2, column 'b': a missing value/);
      expect(bad('text/csv', 'a,b,c\n0x10,1,3\n')).toMatch(/"0x10"/);
    });
    it('an empty body, a missing column', () => {
      expect(bad('text/csv', '')).toMatch(/the CSV body is empty/);
      expect(bad('text/csv', 'a,b\n1,2\n')).toMatch(/Model is missing inputs 'c'/);
    });
  });
});

describe('MLflow /invocations: content types', () => {
  it('refuses anything but application/json and text/csv with 415 and a text/plain body', () => {
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      undefined,
      'application/json-seq',
    ]) {
      const e = mlflowError(() => parseMlflowInvocation(type, '{}', ABC));
      expect(e.status).toBe(415);
      expect(e.contentType).toBe('text/plain');
      expect(e.body).toMatch(
        /only supports the following content types: \['text\/csv', 'application\/json'\]/,
      );
    }
  });
  it('refuses a charset other than UTF-8 with 415', () => {
    const e = mlflowError(() => parseMlflowInvocation('text/csv; charset=latin1', 'a\n1\n', ABC));
    expect(e.status).toBe(415);
  });
});

describe('MLflow limits', () => {
  it('refuses a request over the row or cell limit with 413 in MLflow shape', () => {
    const limits = { maxRows: 2, maxCells: 100 };
    const rows = mlflowError(() =>
      parseMlflowInvocation(
        JSON_TYPE,
        {
          instances: [
            [1, 2, 3],
            [4, 5, 6],
            [7, 8, 9],
          ],
        },
        ABC,
        limits,
      ),
    );
    expect(rows.status).toBe(413);
    expect(rows.body).toEqual({
      error_code: 'BAD_REQUEST',
      message: expect.stringMatching(/3 rows; the limit is 2/),
    });
    const csv = mlflowError(() =>
      parseMlflowInvocation('text/csv', 'a,b,c\n1,2,3\n4,5,6\n', ABC, { maxRows: 10, maxCells: 5 }),
    );
    expect(csv.status).toBe(413);
    expect(csv.message).toMatch(/6 values; the limit is 5/);
  });

  it('parses 10,000 rows as dataframe_split and as CSV', () => {
    const n = 10_000;
    const data = Array.from({ length: n }, (_, i) => [i, i * 2, i + 0.5]);
    const split = parseMlflowInvocation(
      JSON_TYPE,
      { dataframe_split: { columns: ['a', 'b', 'c'], data } },
      ABC,
    );
    expect(split.batch.rows).toBe(n);
    expect((split.batch.columns.get('b') as Float64Array)[9999]).toBe(19998);
    const csv = `a,b,c\n${data.map((r) => r.join(',')).join('\n')}\n`;
    const parsed = parseMlflowInvocation('text/csv', csv, ABC);
    expect(parsed.batch.rows).toBe(n);
    expect((parsed.batch.columns.get('c') as Float64Array)[1234]).toBe(1234.5);
  });
});

describe('MLflow predictions', () => {
  const classifier = {
    kind: 'classifier' as const,
    labels: ['yes', 'no'],
    probabilities: [
      [0.25, 0.75],
      [0.5, 0.5],
    ],
    classes: ['no', 'yes'],
  };

  it("gives a classifier's labels, as the sklearn flavour's predict", () => {
    expect(JSON.parse(JSON.stringify(encodeMlflowPredictions(classifier)))).toEqual({
      predictions: ['yes', 'no'],
    });
    expect(encodeMlflowPredictions({ ...classifier, labels: [1, 0], classes: [0, 1] })).toEqual({
      predictions: [1, 0],
    });
  });

  it('gives class probabilities per row with predict_method predict_proba', () => {
    expect(encodeMlflowPredictions(classifier, 'predict_proba')).toEqual({
      predictions: [
        [0.25, 0.75],
        [0.5, 0.5],
      ],
    });
  });

  it("gives a regressor's values", () => {
    const regressor = { kind: 'regressor' as const, values: new Float64Array([1.5, 2]) };
    expect(encodeMlflowPredictions(regressor)).toEqual({ predictions: [1.5, 2] });
    expect(mlflowError(() => encodeMlflowPredictions(regressor, 'predict_proba')).status).toBe(400);
  });

  it('answers /ping with a newline', () => {
    expect(MLFLOW_PING_BODY).toBe('\n');
  });
});
