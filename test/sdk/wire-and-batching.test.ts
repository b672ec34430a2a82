// The SDK's pieces that need no server: the NaN/Infinity wire format and how the log buffer
// cuts batches within MLflow's limits (counts and the 1 MB body limit).
import { describe, expect, it } from 'vitest';
import { parseJson } from '../../src/client/json.js';
import { BATCH_LIMITS, type Batch, LogBuffer } from '../../src/sdk/log-buffer.js';
import { decodeMetricValue, encodeMetricValue } from '../../src/sdk/wire.js';

describe('metric value wire format', () => {
  it('sends non-finite values as protobuf JSON strings and reads strings, bare tokens and null', () => {
    expect([Number.NaN, Infinity, -Infinity, 1.5].map(encodeMetricValue)).toEqual([
      'NaN',
      'Infinity',
      '-Infinity',
      1.5,
    ]);
    expect(decodeMetricValue('NaN')).toBeNaN();
    expect(decodeMetricValue(null)).toBeNaN();
    expect(decodeMetricValue('Infinity')).toBe(Infinity);
    expect(decodeMetricValue('-Infinity')).toBe(-Infinity);
    expect(decodeMetricValue('2.5')).toBe(2.5);
    expect(() => decodeMetricValue('abc')).toThrow(TypeError);
    const parsed = parseJson(
      '{"a": NaN, "b": -Infinity, "c": [Infinity], "s": "NaN Infinity \\" NaN"}',
    ) as Record<string, unknown>;
    expect(parsed).toEqual({ a: 'NaN', b: '-Infinity', c: ['Infinity'], s: 'NaN Infinity " NaN' });
    expect(() => parseJson('{"a": nope}')).toThrow(SyntaxError);
  });
});

describe('LogBuffer', () => {
  async function collect(fill: (b: LogBuffer) => void): Promise<Batch[]> {
    const sent: Batch[] = [];
    const buffer = new LogBuffer(
      async (b) => {
        sent.push(b);
      },
      0,
      () => {},
    );
    fill(buffer);
    await buffer.flush();
    return sent;
  }

  it('keeps every batch within the count limits', async () => {
    const sent = await collect((b) => {
      for (let i = 0; i < 2500; i++) b.addMetric({ key: 'm', value: i, step: i, timestamp: 1 });
      for (let i = 0; i < 250; i++) b.addParam({ key: `p${i}`, value: String(i) });
      for (let i = 0; i < 130; i++) b.addTag({ key: `t${i}`, value: 'v' });
    });
    for (const b of sent) {
      expect(b.metrics.length).toBeLessThanOrEqual(BATCH_LIMITS.metrics);
      expect(b.params.length).toBeLessThanOrEqual(BATCH_LIMITS.params);
      expect(b.tags.length).toBeLessThanOrEqual(BATCH_LIMITS.tags);
      expect(b.metrics.length + b.params.length + b.tags.length).toBeLessThanOrEqual(BATCH_LIMITS.entities);
    }
    expect(sent.flatMap((b) => b.metrics).map((m) => m.step)).toEqual(
      Array.from({ length: 2500 }, (_, i) => i),
    );
    expect(sent.flatMap((b) => b.params)).toHaveLength(250);
    expect(sent.flatMap((b) => b.tags)).toHaveLength(130);
  });

  it('keeps every body under 1 MB even with long values', async () => {
    const sent = await collect((b) => {
      for (let i = 0; i < 100; i++) b.addParam({ key: `p${i}`, value: 'é'.repeat(6000) });
      for (let i = 0; i < 100; i++) b.addTag({ key: `t${i}`, value: 'x'.repeat(8000) });
    });
    expect(sent.length).toBeGreaterThan(1);
    for (const b of sent) {
      expect(Buffer.byteLength(JSON.stringify({ run_id: 'r'.repeat(32), ...b }))).toBeLessThan(1_000_000);
    }
    expect(sent.flatMap((b) => b.params)).toHaveLength(100);
    expect(sent.flatMap((b) => b.tags)).toHaveLength(100);
  });

  it('drops a refused batch, reports it once, and goes on with the rest', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const buffer = new LogBuffer(
      async () => {
        calls++;
        if (calls === 1) throw new Error('refused');
      },
      0,
      (e) => errors.push(e),
    );
    for (let i = 0; i < 1500; i++) buffer.addMetric({ key: 'm', value: i, step: i, timestamp: 1 });
    await expect(buffer.flush()).rejects.toThrow('refused');
    expect(calls).toBe(2);
    expect(errors).toHaveLength(1);
    await buffer.flush();
  });
});
