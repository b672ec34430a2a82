// The SHA-256 that moves to a worker thread for big streams must equal node:crypto's, whatever
// the sizes handed over (tiny, batch-sized, bigger than every slot at once) and concurrently.
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { streamHash } from '../../src/artifacts/offload-hash.js';

const MiB = 1024 * 1024;
const expected = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function hashInPieces(data: Buffer, piece: number): Promise<string> {
  const h = streamHash();
  for (let off = 0; off < data.length; off += piece) {
    h.update(data.subarray(off, off + piece));
    const wait = h.ready();
    if (wait) await wait;
  }
  return h.digest();
}

describe('stream SHA-256 off the main thread', () => {
  it.each([
    ['empty', 0, 1],
    ['small, inline', 1000, 7],
    ['exactly one batch', MiB, 64 * 1024],
    ['one byte over a batch', MiB + 1, 64 * 1024],
    ['many batches in 64 KiB pieces', 20 * MiB + 3, 64 * 1024],
    ['odd pieces', 5 * MiB, 100_003],
  ])('%s', async (_label, size, piece) => {
    const data = randomBytes(size);
    expect(await hashInPieces(data, piece)).toBe(expected(data));
  });

  it('a single update bigger than all the slots together', async () => {
    const data = randomBytes(30 * MiB);
    const h = streamHash();
    h.update(data);
    expect(await h.digest()).toBe(expected(data));
  });

  it('streams hashed concurrently do not mix, and an aborted one does not disturb the rest', async () => {
    const inputs = Array.from({ length: 5 }, (_, i) => randomBytes(3 * MiB + i));
    const aborted = streamHash();
    aborted.update(randomBytes(4 * MiB));
    aborted.abort();
    const digests = await Promise.all(inputs.map((d, i) => hashInPieces(d, 10_000 + i * 50_000)));
    expect(digests).toEqual(inputs.map(expected));
    await expect(aborted.digest()).rejects.toThrow();
  });
});
