import { endianness } from 'node:os';

// The history of a metric is stored in chunks: one row per (run, key, logging call) holding
// that call's points as packed little-endian float64 arrays [steps | timestamps | values].
// A 1000-metric log-batch of 10 keys writes 10 rows instead of 1000, and a history page
// decodes a few arrays instead of building one JS object per point in the driver. float64
// holds every step and timestamp exactly (both are safe integers, checked at parse time) and
// keeps NaN and ±Infinity as they were logged.
if (endianness() !== 'LE') throw new Error('falaj stores metric chunks as little-endian float64');

/** A run key's points as columns, ordered by (step, timestamp) once sorted. */
export interface Series {
  steps: Float64Array;
  timestamps: Float64Array;
  values: Float64Array;
}

export function encodeChunk(s: Series): Buffer {
  const n = s.steps.length;
  const packed = new Float64Array(3 * n);
  packed.set(s.steps, 0);
  packed.set(s.timestamps, n);
  packed.set(s.values, 2 * n);
  return Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength);
}

export function decodeChunk(data: Uint8Array, n: number): Series {
  if (data.byteLength !== 24 * n) throw new Error(`metric chunk of ${data.byteLength} bytes for ${n} points`);
  // Buffers from the drivers may sit at any offset of a shared pool: a float64 view needs 8.
  const aligned =
    data.byteOffset % 8 === 0
      ? data
      : new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  const all = new Float64Array(aligned.buffer, aligned.byteOffset, 3 * n);
  return { steps: all.subarray(0, n), timestamps: all.subarray(n, 2 * n), values: all.subarray(2 * n) };
}

/**
 * Concatenates chunks (given in insertion order) into one series ordered by (step, timestamp);
 * points with the same pair keep their insertion order, so paging is deterministic. The common
 * case (chunks that are each sorted and follow each other) costs one copy and no sort.
 */
export function mergeChunks(chunks: readonly Series[]): Series {
  let n = 0;
  for (const c of chunks) n += c.steps.length;
  const steps = new Float64Array(n);
  const timestamps = new Float64Array(n);
  const values = new Float64Array(n);
  let at = 0;
  for (const c of chunks) {
    steps.set(c.steps, at);
    timestamps.set(c.timestamps, at);
    values.set(c.values, at);
    at += c.steps.length;
  }
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) {
    const ds = (steps[i] as number) - (steps[i - 1] as number);
    sorted = ds > 0 || (ds === 0 && (timestamps[i] as number) >= (timestamps[i - 1] as number));
  }
  if (sorted) return { steps, timestamps, values };
  const order = Array.from({ length: n }, (_, i) => i);
  // Array.prototype.sort is stable: ties stay in insertion order.
  order.sort(
    (a, b) =>
      (steps[a] as number) - (steps[b] as number) || (timestamps[a] as number) - (timestamps[b] as number),
  );
  const out: Series = {
    steps: new Float64Array(n),
    timestamps: new Float64Array(n),
    values: new Float64Array(n),
  };
  for (let i = 0; i < n; i++) {
    const j = order[i] as number;
    out.steps[i] = steps[j] as number;
    out.timestamps[i] = timestamps[j] as number;
    out.values[i] = values[j] as number;
  }
  return out;
}
