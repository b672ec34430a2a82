// Evaluation beyond the trainer's own models: an ONNX graph from elsewhere (no Falaj metadata)
// fed by input name through onnxruntime-node, an uploaded evaluation file, the engine's slices
// and what fairness says of a model that is not a binary classifier.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scoreEvaluation } from '../../../src/registry/staging/evaluation/engine.js';
import { decodeModel, encodeModel } from '../../../src/training/onnx/proto.js';
import { DIALECTS } from '../../support/dialects.js';
import { falajOnnx } from '../helpers.js';
import { errorCode, MODELS, P, type StagingTest, setupStaging } from './helpers.js';

/** The test graph of ../helpers.ts without Falaj's metadata: to Falaj, a model from any framework. */
function foreignOnnx(): Uint8Array {
  const m = decodeModel(falajOnnx());
  m.metadataProps = [];
  m.producerName = 'elsewhere';
  return encodeModel(m);
}

function csv(rows: number): string {
  const lines = ['x,colour,truth,segment'];
  for (let i = 0; i < rows; i++) {
    const x = ((i % 20) - 10) / 5;
    // The graph says y when x > 0; the truth agrees except on every seventh row.
    const truth = x > 0 !== (i % 7 === 0) ? 'y' : 'n';
    lines.push([x, i % 3 === 0 ? 'red' : 'blue', truth, i % 2 === 0 ? 'even' : 'odd'].join(','));
  }
  return `${lines.join('\n')}\n`;
}

describe.each(DIALECTS)('evaluating a foreign ONNX model on %s', (dialect) => {
  let x: StagingTest;
  beforeAll(async () => {
    x = await setupStaging(dialect);
    const up = await x.t.app.inject({
      method: 'POST',
      url: `${MODELS}/foreign/versions`,
      headers: { authorization: `Bearer ${x.as.alice}`, 'content-type': 'application/octet-stream' },
      payload: Buffer.from(foreignOnnx()),
    });
    if (up.statusCode !== 201) throw new Error(up.body);
    const put = await x.t.request('PUT', `${P}/artifacts/files/eval/data.csv`, {
      token: x.as.alice,
      body: csv(140),
      headers: { 'content-type': 'text/csv' },
    });
    if (put.statusCode !== 201) throw new Error(put.body);
  });
  afterAll(async () => x?.close());

  it('feeds inputs by name and scores the probabilities output against the target', async () => {
    const res = await x.call('alice', 'POST', `${MODELS}/foreign/versions/1/evaluations`, {
      file: 'eval/data.csv',
      target: 'truth',
      sensitive: ['colour'],
      slices: ['segment', 'x'],
    });
    expect(res.statusCode, res.body).toBe(201);
    const e = res.json();
    expect(e).toMatchObject({ kind: 'file', rowCount: 140, dataVersionId: null });
    expect(e.result).toMatchObject({
      runtime: 'onnx',
      task: 'binary',
      classes: ['n', 'y'],
      data: 'eval/data.csv',
    });
    expect(e.result.metrics.accuracy).toBeCloseTo(120 / 140, 1);
    expect(e.result.slices.segment.map((s: { value: string }) => s.value)).toEqual(['even', 'odd']);
    expect(e.result.slices.x).toHaveLength(20);
    expect(e.result.fairness.colour.report.groups).toHaveLength(2);
  });

  it('needs the target named when no run says it, and refuses unknown classes', async () => {
    const noTarget = await x.call('alice', 'POST', `${MODELS}/foreign/versions/1/evaluations`, {
      file: 'eval/data.csv',
    });
    expect(errorCode(noTarget)).toBe('FALAJ_INVALID_ARGUMENT');
    const wrong = await x.call('alice', 'POST', `${MODELS}/foreign/versions/1/evaluations`, {
      file: 'eval/data.csv',
      target: 'segment',
      classes: ['n', 'y'],
    });
    expect(errorCode(wrong)).toBe('FALAJ_EVALUATION_DATA_MISMATCH');
    const absent = await x.call('alice', 'POST', `${MODELS}/foreign/versions/1/evaluations`, {
      file: 'eval/missing.csv',
      target: 'truth',
    });
    expect(errorCode(absent)).toBe('FALAJ_NOT_FOUND');
  });
});

describe('the evaluation engine', () => {
  it('reports regression metrics, quintile slices of a numeric column, and why fairness is absent', () => {
    const n = 100;
    const values = Float64Array.from({ length: n }, (_, i) => i);
    const frame = {
      nRows: n,
      columns: [
        { kind: 'numeric' as const, name: 'v', values },
        {
          kind: 'categorical' as const,
          name: 'g',
          codes: Int32Array.from({ length: n }, (_, i) => i % 2),
          levels: ['a', 'b'],
        },
      ],
    };
    const target = {
      kind: 'regression' as const,
      name: 'y',
      values: Float64Array.from(values, (v) => v * 2),
    };
    const r = scoreEvaluation(
      'regression',
      frame,
      target,
      Float64Array.from(values, (v) => v * 2 + 1),
      {
        sensitive: ['g'],
        slices: ['v'],
      },
    );
    expect(r.metrics.rmse).toBeCloseTo(1);
    expect(r.slices.v?.map((s) => s.value)).toEqual([
      '[-inf, 20)',
      '[20, 40)',
      '[40, 60)',
      '[60, 80)',
      '[80, inf)',
    ]);
    expect(r.slices.v?.every((s) => s.rows === 20)).toBe(true);
    expect(r.fairness.g).toMatchObject({ report: null, reason: expect.stringMatching(/binary classifier/) });
  });
});
