// Bad input to the exporter and the runner: clear FALAJ_* errors, never a crash or a wrong answer.
import { describe, expect, it } from 'vitest';
import { FalajError } from '../../../src/core/errors.js';
import type { Frame } from '../../../src/training/frame.js';
import { exportOnnx, onnxPredict } from '../../../src/training/onnx/index.js';
import { encodeModel } from '../../../src/training/onnx/proto.js';
import { handGbdt, handLinear, linearState } from './states.js';

async function code(p: Promise<unknown> | (() => unknown)): Promise<{ code: string; message: string }> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    if (err instanceof FalajError) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected an error');
}

const frame: Frame = {
  nRows: 2,
  columns: [
    { kind: 'numeric', name: 'x', values: Float64Array.from([1, 2]) },
    { kind: 'categorical', name: 'c', codes: Int32Array.from([0, 1]), levels: ['b', 'd'] },
    { kind: 'categorical', name: 'e', codes: Int32Array.from([-1, -1]), levels: [] },
  ],
};

describe('exportOnnx errors', () => {
  it('refuses what is not a model', async () => {
    for (const bad of [null, 42, {}, { format: 'sklearn' }]) {
      const e = await code(() => exportOnnx(bad as never));
      expect(e.code).toBe('FALAJ_MODEL_INVALID');
      expect(e.message).toMatch(/GBDT or linear model/);
    }
  });

  it('refuses a corrupt GBDT state, naming the problem', async () => {
    const s = handGbdt();
    s.trees.left[0] = 7; // a child outside the tree
    const e = await code(() => exportOnnx(s));
    expect(e.code).toBe('FALAJ_MODEL_INVALID');
    expect(e.message).toMatch(/tree 0 node 0 has bad children/);
  });

  it('refuses a corrupt linear state', async () => {
    const s = { ...handLinear(), coefficients: [[1, 2]] };
    const e = await code(() => exportOnnx(s));
    expect(e.code).toBe('FALAJ_MODEL_INVALID');
    expect(e.message).toMatch(/coefficients\[0\]/);
  });

  it('refuses a linear model that has no design column', async () => {
    const s = linearState(
      'regression',
      [],
      { columns: [{ kind: 'categorical', name: 'e', levels: [] }] },
      [[]],
      [1],
    );
    const e = await code(() => exportOnnx(s));
    expect(e.code).toBe('FALAJ_MODEL_INVALID');
    expect(e.message).toMatch(/no design column/);
  });
  it('refuses a categorical level containing NUL, which onnxruntime-node cannot feed', async () => {
    const s = handGbdt();
    const features = s.features.map((f) =>
      f.name === 'c' ? { ...f, categories: ['', 'b\u0000', 'c', 'd'] } : f,
    );
    const e = await code(() => exportOnnx({ ...s, features }));
    expect(e.code).toBe('FALAJ_MODEL_INVALID');
    expect(e.message).toMatch(/column 'c' has a level containing a NUL/);
  });
});

describe('onnxPredict errors', () => {
  const bytes = exportOnnx(handGbdt());

  it('names a missing column', async () => {
    const e = await code(onnxPredict(bytes, { nRows: 2, columns: frame.columns.slice(0, 2) }));
    expect(e).toEqual({
      code: 'FALAJ_MODEL_INVALID',
      message: "the frame has no column 'e' which the model needs",
    });
  });

  it('refuses a column of the wrong kind for a GBDT model, as the native predictor does', async () => {
    const columns = [
      frame.columns[0],
      { kind: 'numeric', name: 'c', values: Float64Array.from([1, 2]) },
      frame.columns[2],
    ];
    const e = await code(onnxPredict(bytes, { nRows: 2, columns } as Frame));
    expect(e.code).toBe('FALAJ_MODEL_INVALID');
    expect(e.message).toMatch(/column 'c' is numeric/);
  });

  it('refuses a column whose length is not the frame’s', async () => {
    const e = await code(onnxPredict(bytes, { ...frame, nRows: 3 }));
    expect(e.code).toBe('FALAJ_DATA_INVALID');
  });

  it('refuses bytes that are not a Falaj ONNX model', async () => {
    expect((await code(onnxPredict(Uint8Array.from([1, 2, 3, 255]), frame))).code).toBe(
      'FALAJ_MODEL_INVALID',
    );
    const foreign = encodeModel({ irVersion: 10, producerName: 'elsewhere', graph: { name: 'g' } });
    const e = await code(onnxPredict(foreign, frame));
    expect(e.code).toBe('FALAJ_MODEL_INVALID');
    expect(e.message).toMatch(/not exported by Falaj/);
  });

  it('returns an empty result for an empty frame', async () => {
    const empty: Frame = {
      nRows: 0,
      columns: frame.columns.map((c) =>
        c.kind === 'numeric' ? { ...c, values: new Float64Array(0) } : { ...c, codes: new Int32Array(0) },
      ),
    };
    expect((await onnxPredict(bytes, empty)).length).toBe(0);
  });
});
