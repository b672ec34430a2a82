// What is particular to the local folder: the files an object is made of, the first copy of
// deduplicated content standing, tmp/ entries of live processes kept, damage to sidecars and
// data files, and re-wrapping that rewrites key.json only. The ArtifactStore contract itself
// (round trips, limits, deletion, tampering, keys) is in conformance.ts, which
// local-conformance.test.ts runs; the sealed-stream format is in sealed-stream.test.ts.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalArtifactStore } from '../../src/artifacts/local-artifact-store.js';
import type { ArtifactSidecar } from '../../src/artifacts/sealed-sidecar.js';
import { ARTIFACT_CHUNK_SIZE, sealedLength } from '../../src/artifacts/sealed-stream.js';
import { deadPid, drain, expectCode, fileHash, listFiles, pieces, sha256, tempStore } from './helpers.js';

const C = ARTIFACT_CHUNK_SIZE;
const TAG = 16;

describe('local artifact store: files on disk', () => {
  let t: ReturnType<typeof tempStore>;
  beforeEach(() => {
    t = tempStore();
  });
  afterEach(() => t.dispose());

  // Empty, small, one byte either side of each chunk boundary, exact multiples, and odd tails.
  const sizes = [0, 1, 100, C - 1, C, C + 1, 2 * C, 3 * C - 1, 3 * C, 3 * C + 1, 5 * C + 12345];
  it.each(sizes)('%i bytes: the data file is exactly the sealed stream', async (n) => {
    const data = randomBytes(n);
    const put = await t.store.put(pieces(data, [7, 1000, C, 3 * C + 5]));
    const paths = t.store.objectPaths(put.digest);
    // Chunks of C bytes each with a 16-byte tag; always at least one (possibly empty) chunk.
    expect(statSync(paths.data).size).toBe(n + Math.max(1, Math.ceil(n / C)) * TAG);
    expect(statSync(paths.data).size).toBe(sealedLength(n, C));
    expect(readdirSync(paths.dir).sort()).toEqual(['data', 'key.json']);
  });

  it('many chunks with a tiny chunk size, fed one byte at a time and all at once', async () => {
    const small = tempStore({ chunkSize: 16 });
    try {
      for (const n of [0, 15, 16, 17, 32, 33, 1000]) {
        const data = randomBytes(n);
        for (const feed of [[1], [n || 1], [5, 11, 16, 17]]) {
          const put = await small.store.put(pieces(data, feed));
          expect(put.digest).toBe(sha256(data));
          expect((await drain(await small.store.get(put.digest))).data.equals(data)).toBe(true);
        }
      }
    } finally {
      small.dispose();
    }
  });

  it('the data file holds no plaintext and the sidecar no raw key', async () => {
    const data = Buffer.from('a very recognisable plaintext '.repeat(5000));
    const { digest } = await t.store.put(pieces(data));
    const paths = t.store.objectPaths(digest);
    expect(readFileSync(paths.data).includes(Buffer.from('recognisable'))).toBe(false);
    const sidecar = JSON.parse(readFileSync(paths.sidecar, 'utf8')) as ArtifactSidecar;
    expect(sidecar).toMatchObject({
      format: 1,
      cipher: 'aes-256-gcm-chunked',
      chunkSize: C,
      size: data.length,
    });
    expect(sidecar.prefix).toMatch(/^[0-9a-f]{16}$/);
    expect(sidecar.key).toMatch(/^v1:/);
    expect(statSync(paths.data).mode & 0o777).toBe(0o600);
  });

  it('deduplicates: the same content again leaves the first copy’s files as they were', async () => {
    const data = randomBytes(3 * C + 7);
    const first = await t.store.put(pieces(data));
    const { data: dataBefore } = { data: fileHash(t.store.objectPaths(first.digest).data) };
    const again = await t.store.put(pieces(data, [1000]));
    expect(again).toEqual(first);
    // The first copy stands (a new upload does not replace it).
    expect(fileHash(t.store.objectPaths(first.digest).data)).toBe(dataBefore);
    const objects = listFiles(path.join(t.dir, 'artifacts', 'blobs'));
    expect(objects).toHaveLength(2); // one object: a data file and a sidecar
    expect(listFiles(path.join(t.dir, 'artifacts', 'tmp'))).toEqual([]);
  });
});

describe('local artifact store: tmp/ debris', () => {
  let t: ReturnType<typeof tempStore>;
  beforeEach(() => {
    t = tempStore();
  });
  afterEach(() => t.dispose());

  it('debris of dead processes in tmp/ is removed at start; a live process’s upload is kept', async () => {
    const tmp = path.join(t.dir, 'artifacts', 'tmp');
    const host = sha256(os.hostname()).slice(0, 8);
    const dead = `u-${deadPid()}-abcdef-${host}`;
    const mine = `u-${process.pid}-abcdef-${host}`;
    for (const name of [dead, mine, 'junk']) {
      mkdirSync(path.join(tmp, name));
      writeFileSync(path.join(tmp, name, 'data'), 'partial');
    }
    new LocalArtifactStore(path.join(t.dir, 'artifacts'), t.keyring);
    expect(readdirSync(tmp).sort()).toEqual([mine]);
  });
});

describe('local artifact store: damage at rest is found, never returned', () => {
  let t: ReturnType<typeof tempStore>;
  const data = randomBytes(4 * C + 999); // five chunks, the last one short
  let digest: string;
  let paths: { dir: string; data: string; sidecar: string };
  beforeEach(async () => {
    t = tempStore();
    digest = (await t.store.put(pieces(data))).digest;
    paths = t.store.objectPaths(digest);
  });
  afterEach(() => t.dispose());

  /** Reads through get(); whatever arrived before the error must be a true prefix, never more. */
  async function expectIntegrityError(): Promise<{ received: number }> {
    let stream: Readable;
    try {
      stream = await t.store.get(digest);
    } catch (err) {
      expectCode(err, 'FALAJ_ARTIFACT_INTEGRITY');
      return { received: 0 };
    }
    const { data: got, error } = await drain(stream);
    expectCode(error, 'FALAJ_ARTIFACT_INTEGRITY');
    expect(got.length).toBeLessThan(data.length);
    expect(got.equals(data.subarray(0, got.length))).toBe(true);
    return { received: got.length };
  }

  const sealed = C + TAG;
  it('two chunks swapped are refused at the first of them', async () => {
    const bytes = readFileSync(paths.data);
    const first = Buffer.from(bytes.subarray(0, sealed));
    bytes.copy(bytes, 0, sealed, 2 * sealed);
    first.copy(bytes, sealed);
    writeFileSync(paths.data, bytes);
    const { received } = await expectIntegrityError();
    expect(received).toBe(0);
  });

  it.each([
    [
      'the wrapped key',
      (s: ArtifactSidecar) => ({
        ...s,
        key: s.key.slice(0, 10) + (s.key[10] === 'A' ? 'B' : 'A') + s.key.slice(11),
      }),
    ],
    ['the recorded size', (s: ArtifactSidecar) => ({ ...s, size: s.size - 1 })],
    ['the nonce prefix', (s: ArtifactSidecar) => ({ ...s, prefix: '00'.repeat(8) })],
    ['the chunk size', (s: ArtifactSidecar) => ({ ...s, chunkSize: C / 2 })],
  ])('a sidecar with %s edited is refused', async (_label, edit) => {
    const sidecar = JSON.parse(readFileSync(paths.sidecar, 'utf8')) as ArtifactSidecar;
    writeFileSync(paths.sidecar, JSON.stringify(edit(sidecar)));
    await expectIntegrityError();
  });

  it('a malformed sidecar is refused', async () => {
    writeFileSync(paths.sidecar, '{"format": 1,');
    await expectIntegrityError();
    writeFileSync(paths.sidecar, JSON.stringify({ format: 2 }));
    await expectIntegrityError();
  });

  it('another object’s sidecar (or data file) under this digest is refused', async () => {
    const other = await t.store.put(pieces(randomBytes(data.length)));
    const otherPaths = t.store.objectPaths(other.digest);
    const ownSidecar = readFileSync(paths.sidecar);
    writeFileSync(paths.sidecar, readFileSync(otherPaths.sidecar));
    await expectIntegrityError();
    writeFileSync(paths.sidecar, ownSidecar);
    writeFileSync(paths.data, readFileSync(otherPaths.data));
    await expectIntegrityError();
  });

  it('a missing data file is an integrity error, not an empty artifact', async () => {
    rmSync(paths.data);
    await expectIntegrityError();
  });

  it('content that authenticates but does not hash to its digest is never delivered whole', async () => {
    // Whoever holds the keyring can re-bind an object's key to another digest: every tag then
    // passes, and only the final content-hash check stands between the reader and wrong data.
    const forged = randomBytes(data.length);
    const target = (await t.store.put(pieces(forged))).digest;
    const targetPaths = t.store.objectPaths(target);
    const sidecar = JSON.parse(readFileSync(paths.sidecar, 'utf8')) as ArtifactSidecar;
    const ctx = (d: string) => `falaj-artifact|${d}|${sidecar.prefix}|${sidecar.chunkSize}|${sidecar.size}`;
    const key = t.keyring.unwrap(sidecar.key, ctx(digest));
    writeFileSync(targetPaths.data, readFileSync(paths.data));
    writeFileSync(targetPaths.sidecar, JSON.stringify({ ...sidecar, key: t.keyring.wrap(key, ctx(target)) }));
    const { data: got, error } = await drain(await t.store.get(target));
    expectCode(error, 'FALAJ_ARTIFACT_INTEGRITY');
    // The last chunk is held back until the hash matches, so the reader never gets it all.
    expect(got.length).toBeLessThan(data.length);
  });
});

describe('local artifact store: key re-wrapping', () => {
  it('rewrapKeys re-wraps every sidecar under the current version; data files are untouched', async () => {
    const t = tempStore();
    try {
      const digests: string[] = [];
      for (const n of [0, 10, 3 * C]) digests.push((await t.store.put(pieces(randomBytes(n)))).digest);
      const before = digests.map((d) => {
        const p = t.store.objectPaths(d).data;
        return { hash: fileHash(p), mtime: statSync(p).mtimeMs, ino: statSync(p).ino };
      });
      expect(t.keyring.addVersion()).toBe(2);
      expect(await t.store.rewrapKeys()).toEqual({ rewrapped: 3, total: 3, failed: [] });
      for (const [i, d] of digests.entries()) {
        const p = t.store.objectPaths(d);
        expect(JSON.parse(readFileSync(p.sidecar, 'utf8')).key).toMatch(/^v2:/);
        expect({
          hash: fileHash(p.data),
          mtime: statSync(p.data).mtimeMs,
          ino: statSync(p.data).ino,
        }).toEqual(before[i]);
        expect((await drain(await t.store.get(d))).error).toBeUndefined();
      }
      // Nothing left to do the second time; a damaged sidecar is reported, not fatal.
      expect(await t.store.rewrapKeys()).toEqual({ rewrapped: 0, total: 3, failed: [] });
      t.keyring.addVersion();
      writeFileSync(t.store.objectPaths(digests[1]!).sidecar, 'garbage');
      const report = await t.store.rewrapKeys();
      expect(report).toMatchObject({ rewrapped: 2, total: 3 });
      expect(report.failed).toEqual([
        expect.objectContaining({ digest: digests[1], code: 'FALAJ_ARTIFACT_INTEGRITY' }),
      ]);
      expect(await (t.store as LocalArtifactStore).keyVersionCounts()).toEqual(new Map([[3, 2]]));
    } finally {
      t.dispose();
    }
  });
});
