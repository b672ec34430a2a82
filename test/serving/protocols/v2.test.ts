// The Open Inference Protocol (V2) codec, tested from the specification: request and response
// bodies are written as kserve's docs/predict-api/v2/required_api.md and KServe's sklearn V2
// example show them, not from the codec's output.
import { describe, expect, it } from 'vitest';
import { InferenceProtocolError } from '../../../src/serving/protocols/errors.js';
import { defaultOutputs, type ModelSignature } from '../../../src/serving/protocols/model-io.js';
import {
  encodeV2InferResponse,
  parseV2InferRequest,
  V2_DATATYPES,
  v2Live,
  v2ModelMetadata,
  v2ModelReady,
  v2Ready,
  v2ServerMetadata,
} from '../../../src/serving/protocols/v2.js';

const IRIS: ModelSignature = {
  inputs: [
    { name: 'sepal_length', type: 'double' },
    { name: 'sepal_width', type: 'double' },
    { name: 'petal_length', type: 'double' },
    { name: 'petal_width', type: 'double' },
  ],
  outputs: defaultOutputs('classifier', [0, 1, 2]),
};

const MIXED: ModelSignature = {
  inputs: [
    { name: 'age', type: 'int64' },
    { name: 'income', type: 'double', missing: true },
    { name: 'city', type: 'string' },
    { name: 'member', type: 'bool' },
  ],
  outputs: defaultOutputs('classifier', ['no', 'yes']),
};

/** The thrown protocol error: V2's body {"error": "..."} and its status. */
function v2Error(fn: () => unknown): InferenceProtocolError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InferenceProtocolError);
    const e = err as InferenceProtocolError;
    expect(e.protocol).toBe('v2');
    expect(e.contentType).toBe('application/json');
    expect(Object.keys(e.body as object)).toEqual(['error']);
    expect((e.body as { error: string }).error).toBe(e.message);
    return e;
  }
  throw new Error('expected an InferenceProtocolError');
}

function bad(body: unknown, signature: ModelSignature = MIXED): string {
  const e = v2Error(() => parseV2InferRequest(body, signature));
  expect(e.status).toBe(400);
  return e.message;
}

function mixedInputs(): {
  name: string;
  shape: number[];
  datatype: string;
  data: unknown[];
}[] {
  return [
    { name: 'age', shape: [3], datatype: 'INT64', data: [31, 45, 27] },
    { name: 'income', shape: [3, 1], datatype: 'FP64', data: [[52000.5], [null], [61000]] },
    { name: 'city', shape: [3], datatype: 'BYTES', data: ['Muscat', 'Sohar', 'Nizwa'] },
    { name: 'member', shape: [3], datatype: 'BOOL', data: [true, false, true] },
  ];
}

describe('V2 infer request', () => {
  it("parses KServe's sklearn V2 iris request: one 2-D FP32 tensor, nested data, onto the model's columns", () => {
    const body = {
      inputs: [
        {
          name: 'input-0',
          shape: [2, 4],
          datatype: 'FP32',
          data: [
            [6.8, 2.8, 4.8, 1.4],
            [6.0, 3.4, 4.5, 1.6],
          ],
        },
      ],
    };
    const parsed = parseV2InferRequest(body, IRIS);
    expect(parsed.layout).toBe('tensor');
    expect(parsed.batch.rows).toBe(2);
    expect([...parsed.batch.columns.keys()]).toEqual(IRIS.inputs.map((s) => s.name));
    expect(Array.from(parsed.batch.columns.get('sepal_length') as Float64Array)).toEqual([6.8, 6.0]);
    expect(Array.from(parsed.batch.columns.get('petal_width') as Float64Array)).toEqual([1.4, 1.6]);
    expect(parsed.outputs).toBeUndefined();
    expect(parsed.id).toBeUndefined();
  });

  it('takes the same tensor with flat row-major data', () => {
    const body = {
      inputs: [
        { name: 'input-0', shape: [2, 4], datatype: 'FP64', data: [6.8, 2.8, 4.8, 1.4, 6.0, 3.4, 4.5, 1.6] },
      ],
    };
    const parsed = parseV2InferRequest(body, IRIS);
    expect(Array.from(parsed.batch.columns.get('sepal_width') as Float64Array)).toEqual([2.8, 3.4]);
    expect(Array.from(parsed.batch.columns.get('petal_length') as Float64Array)).toEqual([4.8, 4.5]);
  });

  it("parses required_api.md's example input0 (UINT32 [2, 2], flat) and keeps id and outputs", () => {
    const signature: ModelSignature = {
      inputs: [
        { name: 'a', type: 'int64' },
        { name: 'b', type: 'int64' },
      ],
      outputs: [{ name: 'output0', type: 'float' }],
    };
    const body = {
      id: '42',
      inputs: [{ name: 'input0', shape: [2, 2], datatype: 'UINT32', data: [1, 2, 3, 4] }],
      outputs: [{ name: 'output0' }],
    };
    const parsed = parseV2InferRequest(body, signature);
    expect(parsed.id).toBe('42');
    expect(parsed.outputs).toEqual(['output0']);
    expect(Array.from(parsed.batch.columns.get('a') as Float64Array)).toEqual([1, 3]);
    expect(Array.from(parsed.batch.columns.get('b') as Float64Array)).toEqual([2, 4]);
  });

  it("refuses required_api.md's example input1 as written (shape [3] with one element)", () => {
    const signature: ModelSignature = { inputs: [{ name: 'input1', type: 'bool' }], outputs: [] };
    const msg = bad({ inputs: [{ name: 'input1', shape: [3], datatype: 'BOOL', data: [true] }] }, signature);
    expect(msg).toMatch(/shape \[3\] holds 3 elements but 'data' has 1/);
  });

  it('parses one input per column ([rows] or [rows, 1]), every type, with parameters and a missing FP64', () => {
    const body = { id: 'req-7', parameters: { trace: true, tag: 'a', n: 3 }, inputs: mixedInputs() };
    const parsed = parseV2InferRequest(body, MIXED);
    expect(parsed.layout).toBe('columns');
    expect(parsed.id).toBe('req-7');
    expect(parsed.parameters).toEqual({ trace: true, tag: 'a', n: 3 });
    expect(parsed.batch.rows).toBe(3);
    const c = parsed.batch.columns;
    expect(Array.from(c.get('age') as Float64Array)).toEqual([31, 45, 27]);
    expect(Array.from(c.get('income') as Float64Array)).toEqual([52000.5, Number.NaN, 61000]);
    expect(c.get('city')).toEqual(['Muscat', 'Sohar', 'Nizwa']);
    expect(Array.from(c.get('member') as Float64Array)).toEqual([1, 0, 1]);
  });

  it('takes inputs in any order', () => {
    const parsed = parseV2InferRequest({ inputs: mixedInputs().reverse() }, MIXED);
    expect(Array.from(parsed.batch.columns.get('age') as Float64Array)).toEqual([31, 45, 27]);
  });

  it('takes every numeric V2 datatype for a double column, and refuses BOOL and BYTES there', () => {
    const one: ModelSignature = { inputs: [{ name: 'x', type: 'double' }], outputs: [] };
    for (const datatype of V2_DATATYPES) {
      const body = { inputs: [{ name: 'x', shape: [2], datatype, data: [1, 2] }] };
      if (datatype === 'BOOL' || datatype === 'BYTES') {
        expect(bad(body, one)).toMatch(
          new RegExp(`datatype ${datatype} does not fit column 'x' \\(double\\)`),
        );
      } else {
        expect(Array.from(parseV2InferRequest(body, one).batch.columns.get('x') as Float64Array)).toEqual([
          1, 2,
        ]);
      }
    }
  });

  it('checks element ranges of integer and float datatypes', () => {
    const one: ModelSignature = { inputs: [{ name: 'x', type: 'double' }], outputs: [] };
    const req = (datatype: string, data: unknown[]) => ({
      inputs: [{ name: 'x', shape: [data.length], datatype, data }],
    });
    expect(bad(req('UINT8', [256]), one)).toMatch(/256 is out of range for UINT8/);
    expect(bad(req('INT8', [-129]), one)).toMatch(/out of range for INT8/);
    expect(bad(req('UINT32', [-1]), one)).toMatch(/out of range for UINT32/);
    expect(bad(req('INT64', [1.5]), one)).toMatch(/1.5 is not an integer \(INT64\)/);
    expect(bad(req('FP16', [70000]), one)).toMatch(/out of range for FP16/);
    expect(bad(req('FP32', [1e39]), one)).toMatch(/out of range for FP32/);
  });

  it("checks integers against the column's own range too (int32), and NaN-free integer columns", () => {
    const small: ModelSignature = { inputs: [{ name: 'n', type: 'int32' }], outputs: [] };
    const req = (datatype: string, data: unknown[]) => ({
      inputs: [{ name: 'n', shape: [data.length], datatype, data }],
    });
    expect(
      Array.from(
        parseV2InferRequest(req('INT64', [-5, 2147483647]), small).batch.columns.get('n') as Float64Array,
      ),
    ).toEqual([-5, 2147483647]);
    expect(bad(req('INT64', [1, 2147483648]), small)).toMatch(
      /row 1: 2147483648 is out of range for column 'n' \(int32\)/,
    );
    expect(bad(req('UINT64', [2 ** 53 + 2]), small)).toMatch(/out of range for UINT64/);
  });

  describe('bad input: each a 400 with {"error": "..."}', () => {
    it('a missing input', () => {
      expect(bad({ inputs: mixedInputs().filter((i) => i.name !== 'city') })).toMatch(/missing input 'city'/);
    });
    it('an extra input', () => {
      const inputs = [...mixedInputs(), { name: 'zip', shape: [3], datatype: 'INT32', data: [1, 2, 3] }];
      expect(bad({ inputs })).toMatch(
        /unexpected input 'zip'; the model takes 'age', 'income', 'city', 'member'/,
      );
    });
    it('an input given twice', () => {
      const inputs = mixedInputs();
      expect(bad({ inputs: [...inputs, inputs[0]] })).toMatch(/input 'age' is given twice/);
    });
    it('inputs of different row counts', () => {
      const inputs = mixedInputs();
      inputs[0] = { name: 'age', shape: [2], datatype: 'INT64', data: [1, 2] };
      expect(bad({ inputs })).toMatch(/has 3 rows but input 'age' has 2/);
    });
    it('a per-column input that is not [rows] or [rows, 1]', () => {
      const inputs = mixedInputs();
      inputs[0] = { name: 'age', shape: [1, 3], datatype: 'INT64', data: [[31, 45, 27]] };
      expect(bad({ inputs })).toMatch(/input 'age': shape \[1,3\] is not \[rows\] or \[rows, 1\]/);
    });
    it('a shape that does not match the data, flat or nested', () => {
      const inputs = mixedInputs();
      inputs[0] = { name: 'age', shape: [3], datatype: 'INT64', data: [31, 45] };
      expect(bad({ inputs })).toMatch(/shape \[3\] holds 3 elements but 'data' has 2/);
      const tensor = (data: unknown[]) => ({
        inputs: [{ name: 't', shape: [2, 4], datatype: 'FP64', data }],
      });
      expect(
        bad(
          tensor([
            [1, 2, 3, 4],
            [5, 6, 7],
          ]),
          IRIS,
        ),
      ).toMatch(/nested 'data' does not match shape \[2,4\]/);
      expect(bad(tensor([[1, 2, 3, 4], 5]), IRIS)).toMatch(/nested 'data' does not match shape/);
      expect(
        bad(
          tensor([
            [1, 2, 3, [4]],
            [5, 6, 7, 8],
          ]),
          IRIS,
        ),
      ).toMatch(/nested deeper than shape/);
    });
    it('a shape that is not a list of non-negative integers', () => {
      expect(bad({ inputs: [{ name: 'age', shape: [-1], datatype: 'INT64', data: [] }] })).toMatch(
        /not a non-negative integer/,
      );
      expect(bad({ inputs: [{ name: 'age', shape: '3', datatype: 'INT64', data: [1, 2, 3] }] })).toMatch(
        /'shape' must be/,
      );
    });
    it('a 2-D tensor whose width is not the number of model columns', () => {
      const body = { inputs: [{ name: 'input-0', shape: [1, 3], datatype: 'FP32', data: [[1, 2, 3]] }] };
      expect(bad(body, IRIS)).toMatch(/a 2-D tensor must have shape \[rows, 4\]/);
    });
    it('a datatype that does not fit the column', () => {
      const inputs = mixedInputs();
      inputs[0] = { name: 'age', shape: [3], datatype: 'FP32', data: [31, 45, 27] };
      expect(bad({ inputs })).toMatch(/datatype FP32 does not fit column 'age' \(int64\)/);
      const strings = mixedInputs();
      strings[2] = { name: 'city', shape: [3], datatype: 'INT32', data: [1, 2, 3] };
      expect(bad({ inputs: strings })).toMatch(/datatype INT32 does not fit column 'city' \(string\)/);
    });
    it('a datatype that V2 does not have', () => {
      const inputs = mixedInputs();
      inputs[0] = { name: 'age', shape: [3], datatype: 'FLOAT', data: [31, 45, 27] };
      expect(bad({ inputs })).toMatch(/datatype "FLOAT" is not one of BOOL, UINT8/);
    });
    it('strings in a numeric column', () => {
      const inputs = mixedInputs();
      inputs[1] = { name: 'income', shape: [3], datatype: 'FP64', data: [1, '2.5', 3] };
      expect(bad({ inputs })).toMatch(/input 'income' row 1: expected a number for FP64, got a string/);
    });
    it('a 2-D BYTES tensor of numbers as strings for numeric columns', () => {
      const body = { inputs: [{ name: 't', shape: [1, 4], datatype: 'BYTES', data: ['1', '2', '3', '4'] }] };
      expect(bad(body, IRIS)).toMatch(/datatype BYTES does not fit column 'sepal_length'/);
    });
    it('a missing value (null) or an infinity where the column takes none', () => {
      const inputs = mixedInputs();
      inputs[1] = { name: 'income', shape: [3], datatype: 'FP64', data: [1, Number.POSITIVE_INFINITY, 3] };
      expect(bad({ inputs })).toMatch(/row 1: Infinity where column 'income' takes no infinity/);
      // JSON.parse turns 1e999 into Infinity: what a client sending an overflow gets.
      const overflow = JSON.parse('{"inputs":[{"name":"x","shape":[1],"datatype":"FP64","data":[1e999]}]}');
      const one: ModelSignature = { inputs: [{ name: 'x', type: 'double' }], outputs: [] };
      expect(bad(overflow, one)).toMatch(/takes no infinity/);
      const nulls = { inputs: [{ name: 'x', shape: [2], datatype: 'FP64', data: [1, null] }] };
      expect(bad(nulls, one)).toMatch(/row 1: a missing value where column 'x' takes none/);
      expect(bad({ inputs: [{ name: 'x', shape: [1], datatype: 'INT64', data: [null] }] }, one)).toMatch(
        /expected a number for INT64/,
      );
    });
    it('a BOOL that is not true or false, a BYTES that is not a string', () => {
      const inputs = mixedInputs();
      inputs[3] = { name: 'member', shape: [3], datatype: 'BOOL', data: [1, 0, 1] };
      expect(bad({ inputs })).toMatch(/expected true or false for BOOL/);
      const s = mixedInputs();
      s[2] = { name: 'city', shape: [3], datatype: 'BYTES', data: ['a', 7, 'c'] };
      expect(bad({ inputs: s })).toMatch(/expected a string for BYTES/);
    });
    it('a body that is not an infer request', () => {
      expect(bad([])).toMatch(/must be a JSON object/);
      expect(bad({})).toMatch(/'inputs' must be a non-empty array/);
      expect(bad({ inputs: [] })).toMatch(/'inputs' must be a non-empty array/);
      expect(bad({ id: 42, inputs: mixedInputs() })).toMatch(/'id' must be a string/);
      expect(bad({ parameters: { a: [1] }, inputs: mixedInputs() })).toMatch(
        /parameter 'a' must be a string/,
      );
      expect(bad({ inputs: [{ shape: [1], datatype: 'INT64', data: [1] }] })).toMatch(/needs a 'name'/);
      expect(bad({ inputs: [{ name: 'age', shape: [1], datatype: 'INT64' }] })).toMatch(/has no 'data'/);
    });
    it('zero rows', () => {
      const one: ModelSignature = { inputs: [{ name: 'x', type: 'double' }], outputs: [] };
      expect(bad({ inputs: [{ name: 'x', shape: [0], datatype: 'FP64', data: [] }] }, one)).toMatch(
        /no rows/,
      );
    });
    it('an output the model does not give, or one asked twice', () => {
      expect(bad({ inputs: mixedInputs(), outputs: [{ name: 'output0' }] })).toMatch(
        /unknown output 'output0'; the model gives 'predict', 'predict_proba'/,
      );
      expect(bad({ inputs: mixedInputs(), outputs: [{ name: 'predict' }, { name: 'predict' }] })).toMatch(
        /twice/,
      );
    });
    it('the binary data extension', () => {
      const inputs = [
        { ...mixedInputs()[0], parameters: { binary_data_size: 24 } },
        ...mixedInputs().slice(1),
      ];
      expect(bad({ inputs })).toMatch(/binary data extension is not supported/);
    });
  });

  it('refuses a request over the row or cell limit with 413 before reading its data', () => {
    const limits = { maxRows: 2, maxCells: 1000 };
    const e = v2Error(() => parseV2InferRequest({ inputs: mixedInputs() }, MIXED, limits));
    expect(e.status).toBe(413);
    expect(e.message).toMatch(/3 rows; the limit is 2 rows per request/);
    const cells = v2Error(() =>
      parseV2InferRequest(
        { inputs: [{ name: 'input-0', shape: [3, 4], datatype: 'FP64', data: 'never read' }] },
        IRIS,
        { maxRows: 100, maxCells: 8 },
      ),
    );
    expect(cells.status).toBe(413);
    expect(cells.message).toMatch(/12 values; the limit is 8 values per request/);
  });

  it('parses a 10,000-row batch, per column and as one tensor', () => {
    const n = 10_000;
    const age = Array.from({ length: n }, (_, i) => i % 90);
    const income = Array.from({ length: n }, (_, i) => i * 1.5);
    const city = Array.from({ length: n }, (_, i) => `c${i % 7}`);
    const member = Array.from({ length: n }, (_, i) => i % 2 === 0);
    const body = {
      inputs: [
        { name: 'age', shape: [n], datatype: 'INT64', data: age },
        { name: 'income', shape: [n, 1], datatype: 'FP64', data: income },
        { name: 'city', shape: [n], datatype: 'BYTES', data: city },
        { name: 'member', shape: [n], datatype: 'BOOL', data: member },
      ],
    };
    const parsed = parseV2InferRequest(body, MIXED);
    expect(parsed.batch.rows).toBe(n);
    expect((parsed.batch.columns.get('age') as Float64Array)[9999]).toBe(9999 % 90);
    expect((parsed.batch.columns.get('income') as Float64Array)[4321]).toBe(4321 * 1.5);
    expect((parsed.batch.columns.get('city') as string[])[13]).toBe('c6');
    expect((parsed.batch.columns.get('member') as Float64Array)[3]).toBe(0);

    const rows = Array.from({ length: n }, (_, i) => [i, i + 0.25, i + 0.5, i + 0.75]);
    const t = parseV2InferRequest(
      { inputs: [{ name: 'input-0', shape: [n, 4], datatype: 'FP64', data: rows }] },
      IRIS,
    );
    expect(t.batch.rows).toBe(n);
    expect((t.batch.columns.get('petal_length') as Float64Array)[7777]).toBe(7777.5);
  });
});

describe('V2 infer response', () => {
  it("matches KServe's sklearn V2 iris response: predict as INT64 [rows]", () => {
    const prediction = {
      kind: 'classifier' as const,
      labels: [1, 1],
      probabilities: [
        [0.1, 0.8, 0.1],
        [0.2, 0.7, 0.1],
      ],
      classes: [0, 1, 2],
    };
    const out = encodeV2InferResponse(prediction, {
      modelName: 'sklearn-v2-iris',
      id: '823248cc-d770-4a51-9606-16803395569c',
      outputs: ['predict'],
    });
    expect(out).toEqual({
      model_name: 'sklearn-v2-iris',
      id: '823248cc-d770-4a51-9606-16803395569c',
      outputs: [{ name: 'predict', shape: [2], datatype: 'INT64', data: [1, 1] }],
    });
  });

  it('gives predict and predict_proba (FP64 [rows, classes], row-major) by default, with model_version and parameters', () => {
    const out = encodeV2InferResponse(
      {
        kind: 'classifier',
        labels: ['yes', 'no', 'yes'],
        probabilities: [
          [0.25, 0.75],
          [0.5, 0.5],
          [0.125, 0.875],
        ],
        classes: ['no', 'yes'],
      },
      { modelName: 'churn', modelVersion: '3', id: '42', parameters: { shadow: false } },
    );
    // As a client reads it off the wire.
    expect(JSON.parse(JSON.stringify(out))).toEqual({
      model_name: 'churn',
      model_version: '3',
      id: '42',
      parameters: { shadow: false },
      outputs: [
        { name: 'predict', shape: [3], datatype: 'BYTES', data: ['yes', 'no', 'yes'] },
        {
          name: 'predict_proba',
          shape: [3, 2],
          datatype: 'FP64',
          data: [0.25, 0.75, 0.5, 0.5, 0.125, 0.875],
        },
      ],
    });
  });

  it('honours the requested outputs, in the order asked', () => {
    const prediction = {
      kind: 'classifier' as const,
      labels: [0],
      probabilities: [[0.9, 0.1]],
      classes: [0, 1],
    };
    const parsed = parseV2InferRequest(
      {
        inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [[1, 2, 3, 4]] }],
        outputs: [{ name: 'predict_proba' }, { name: 'predict' }],
      },
      IRIS,
    );
    const out = encodeV2InferResponse(prediction, { modelName: 'iris', outputs: parsed.outputs });
    expect(out.outputs.map((o) => o.name)).toEqual(['predict_proba', 'predict']);
  });

  it("gives a regressor's predict as FP64 [rows]; predict_proba is refused for it", () => {
    const prediction = { kind: 'regressor' as const, values: new Float64Array([1.5, -2, 3.25]) };
    expect(encodeV2InferResponse(prediction, { modelName: 'price' })).toEqual({
      model_name: 'price',
      outputs: [{ name: 'predict', shape: [3], datatype: 'FP64', data: [1.5, -2, 3.25] }],
    });
    const e = v2Error(() =>
      encodeV2InferResponse(prediction, { modelName: 'price', outputs: ['predict_proba'] }),
    );
    expect(e.status).toBe(400);
  });
});

describe('V2 metadata and health bodies', () => {
  it('server metadata: {name, version, extensions}', () => {
    expect(v2ServerMetadata({ name: 'falaj', version: '0.1.0' })).toEqual({
      name: 'falaj',
      version: '0.1.0',
      extensions: [],
    });
  });

  it('model metadata: {name, versions, platform, inputs, outputs}, -1 for the rows dimension', () => {
    const meta = v2ModelMetadata({
      name: 'churn',
      versions: ['3'],
      platform: 'falaj_gbdt',
      signature: MIXED,
    });
    expect(meta).toEqual({
      name: 'churn',
      versions: ['3'],
      platform: 'falaj_gbdt',
      inputs: [
        { name: 'age', datatype: 'INT64', shape: [-1] },
        { name: 'income', datatype: 'FP64', shape: [-1] },
        { name: 'city', datatype: 'BYTES', shape: [-1] },
        { name: 'member', datatype: 'BOOL', shape: [-1] },
      ],
      outputs: [
        { name: 'predict', datatype: 'BYTES', shape: [-1] },
        { name: 'predict_proba', datatype: 'FP64', shape: [-1, 2] },
      ],
    });
  });

  it('readiness and liveness: the body with 200, or 503', () => {
    expect(v2Live(true)).toEqual({ status: 200, body: { live: true } });
    expect(v2Ready(false)).toEqual({ status: 503, body: { ready: false } });
    expect(v2ModelReady('churn', true)).toEqual({ status: 200, body: { name: 'churn', ready: true } });
    expect(v2ModelReady('churn', false).status).toBe(503);
  });
});
