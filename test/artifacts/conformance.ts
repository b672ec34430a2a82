// The one conformance suite every artifact backend passes (DESIGN.md: one interface per backend
// kind, one suite). Each backend's test file calls `artifactStoreConformance(target)`; a backend
// that cannot run a case names it in `target.skip` with the reason, and the case shows as
// skipped with that reason. The cases speak to the `ArtifactStore` interface only; the few
// things that need the backend's own hands (damaging stored bytes, leaving crash debris,
// listing leftovers) are the target's hooks.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import type { ArtifactStore } from '../../src/artifacts/artifact-store.js';
import { Keyring } from '../../src/security/secrets/keyring.js';
import { drain, expectCode, pieces, sha256 } from './helpers.js';

export const ARTIFACT_STORE_CASES = [
  'round-trip-empty',
  'round-trip-small',
  'round-trip-multi-chunk',
  'streaming-large',
  'content-address',
  'concurrent-same-content',
  'max-bytes',
  'failed-source',
  'missing',
  'invalid-digest',
  'tampered-ciphertext',
  'truncated-ciphertext',
  'delete',
  'new-instance',
  'crash-debris',
  'key-rotation',
  'key-unavailable',
  'wrong-key',
] as const;
export type ArtifactStoreCase = (typeof ARTIFACT_STORE_CASES)[number];

/** One empty place for blobs (a folder, a bucket prefix), with the backend's own hands on it. */
export interface ArtifactStoreLocation {
  /** A store over this location; called again, another instance (as after a restart). */
  open(keyring: Keyring): ArtifactStore;
  /** Flips one bit of the byte at `offset` of the object's stored sealed stream. */
  flipSealedBit(digest: string, offset: number): Promise<void>;
  /** Cuts the object's stored sealed stream to `length` bytes. */
  truncateSealed(digest: string, length: number): Promise<void>;
  /** Leaves what an upload cut short by a crash of a process that is gone leaves behind. */
  leaveCrashDebris(): Promise<void>;
  /** What is at the location besides complete blobs (upload or deletion debris, half objects). */
  residue(): Promise<string[]>;
  dispose(): Promise<void>;
}

export interface ArtifactStoreTarget {
  readonly name: string;
  /** Plaintext bytes per sealed chunk in the stores `open` gives. */
  readonly chunkSize: number;
  /** A fresh, empty location; each case gets its own. */
  location(): Promise<ArtifactStoreLocation>;
  /** Cases this backend cannot run, each with the reason (shown in the test name). */
  readonly skip?: Partial<Record<ArtifactStoreCase, string>>;
}

const MiB = 1024 * 1024;
const TAG = 16;
/** Big enough that holding it whole shows in the process's buffer memory. */
const LARGE = 48 * MiB;

/** get() and a read to the end: a rejected get() is `rejected`, a stream error is `error`. */
async function readBlob(
  store: ArtifactStore,
  digest: string,
): Promise<{ data: Buffer; error: unknown; rejected: boolean }> {
  let stream: Readable;
  try {
    stream = await store.get(digest);
  } catch (error) {
    return { data: Buffer.alloc(0), error, rejected: true };
  }
  return { ...(await drain(stream)), rejected: false };
}

async function expectBlob(store: ArtifactStore, digest: string, want: Buffer): Promise<void> {
  const { data, error } = await readBlob(store, digest);
  expect(error).toBeUndefined();
  expect(data.length).toBe(want.length);
  expect(data.equals(want)).toBe(true);
}

/** Refused with `code`; whatever arrived before the refusal is a true prefix of at most `maxBytes`. */
async function expectRefused(
  store: ArtifactStore,
  digest: string,
  plain: Buffer,
  code: string,
  maxBytes: number,
): Promise<void> {
  const { data, error } = await readBlob(store, digest);
  expectCode(error, code);
  expect(data.length).toBeLessThanOrEqual(maxBytes);
  expect(data.length).toBeLessThan(Math.max(1, plain.length));
  expect(data.equals(plain.subarray(0, data.length))).toBe(true);
}

/** A source that makes its bytes as it is read (never the whole blob at once), hashing them. */
function lazySource(
  total: number,
  piece = MiB,
): { source: Readable; pulled: () => number; digest: () => string } {
  const hash = createHash('sha256');
  let pulled = 0;
  const source = Readable.from(
    (async function* () {
      while (pulled < total) {
        const b = randomBytes(Math.min(piece, total - pulled));
        pulled += b.length;
        hash.update(b);
        yield b;
      }
    })(),
    { objectMode: false },
  );
  return { source, pulled: () => pulled, digest: () => hash.copy().digest('hex') };
}

/** A keyring in a new folder of its own: version 1 only, a key no other keyring has. */
function newKeyring(dirs: string[]): { keyring: Keyring; dir: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'falaj-conf-keys-'));
  dirs.push(dir);
  return { keyring: Keyring.open(dir), dir };
}

/** A copy of the keyring in `dir` without key version `drop`. */
function keyringWithout(dir: string, drop: number, dirs: string[]): Keyring {
  const copy = mkdtempSync(path.join(os.tmpdir(), 'falaj-conf-keys-'));
  dirs.push(copy);
  const file = JSON.parse(readFileSync(path.join(dir, 'keys', 'keyring.json'), 'utf8')) as {
    current: number;
    keys: { version: number }[];
  };
  file.keys = file.keys.filter((k) => k.version !== drop);
  file.current = Math.max(...file.keys.map((k) => k.version));
  mkdirSync(path.join(copy, 'keys'), { mode: 0o700 });
  writeFileSync(path.join(copy, 'keys', 'keyring.json'), JSON.stringify(file), { mode: 0o600 });
  return Keyring.open(copy);
}

export function artifactStoreConformance(target: ArtifactStoreTarget): void {
  describe(`artifact store conformance: ${target.name}`, () => {
    const C = target.chunkSize;
    const sealed = C + TAG;
    const locations: ArtifactStoreLocation[] = [];
    const dirs: string[] = [];
    afterAll(async () => {
      for (const l of locations) await l.dispose();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });

    /** A fresh location, a keyring and a store over it. */
    const setup = async () => {
      const location = await target.location();
      locations.push(location);
      const { keyring, dir: keyDir } = newKeyring(dirs);
      return { location, keyring, keyDir, store: location.open(keyring) };
    };
    const test = (name: ArtifactStoreCase, fn: () => Promise<void>) => {
      const reason = target.skip?.[name];
      if (reason !== undefined) it.skip(`${name} — skipped: ${reason}`, fn);
      else it(name, fn);
    };

    test('round-trip-empty', async () => {
      const { store, location } = await setup();
      const put = await store.put(Readable.from([]));
      expect(put).toEqual({ digest: sha256(''), size: 0 });
      expect(await store.has(put.digest)).toBe(true);
      await expectBlob(store, put.digest, Buffer.alloc(0));
      expect(await location.residue()).toEqual([]);
    });

    test('round-trip-small', async () => {
      const { store } = await setup();
      for (const n of [1, 100, 4096]) {
        const data = randomBytes(n);
        const put = await store.put(pieces(data, [1, 7, 1000]));
        expect(put).toEqual({ digest: sha256(data), size: n });
        await expectBlob(store, put.digest, data);
      }
    });

    test('round-trip-multi-chunk', async () => {
      const { store, location } = await setup();
      // One byte either side of chunk boundaries, exact multiples and an odd tail, fed in
      // pieces that straddle the boundaries.
      for (const n of [C - 1, C, C + 1, 2 * C, 3 * C - 1, 3 * C + 1, 5 * C + 12345]) {
        const data = randomBytes(n);
        const put = await store.put(pieces(data, [7, 1000, C, 3 * C + 5]));
        expect(put).toEqual({ digest: sha256(data), size: n });
        await expectBlob(store, put.digest, data);
      }
      expect(await location.residue()).toEqual([]);
    });

    test('streaming-large', async () => {
      const { store } = await setup();
      const src = lazySource(LARGE);
      const put = await store.put(src.source);
      expect(put).toEqual({ digest: src.digest(), size: LARGE });

      const before = process.memoryUsage().arrayBuffers;
      const stream = await store.get(put.digest);
      await sleep(200); // time for a store that reads ahead to fill whatever it buffers
      // Streamed, not opened whole: what the reader has been handed, and what the process holds
      // in buffers, stay far below the blob's size.
      expect(stream.readableLength).toBeLessThan(LARGE / 4);
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(LARGE / 2);
      const hash = createHash('sha256');
      let size = 0;
      let reads = 0;
      let largest = 0;
      for await (const chunk of stream) {
        const b = chunk as Buffer;
        hash.update(b);
        size += b.length;
        reads++;
        largest = Math.max(largest, b.length);
      }
      expect(size).toBe(LARGE);
      expect(hash.digest('hex')).toBe(put.digest);
      expect(reads).toBeGreaterThan(4);
      expect(largest).toBeLessThan(LARGE / 4);
    });

    test('content-address', async () => {
      const { store } = await setup();
      const a = randomBytes(3 * C + 7);
      const b = Buffer.from(a);
      b[b.length - 1] = b[b.length - 1]! ^ 1;
      const first = await store.put(pieces(a, [C]));
      expect(first).toEqual({ digest: sha256(a), size: a.length });
      // The same content again, fed differently: the same address.
      expect(await store.put(pieces(a, [1000]))).toEqual(first);
      const other = await store.put(pieces(b));
      expect(other.digest).toBe(sha256(b));
      expect(other.digest).not.toBe(first.digest);
      await expectBlob(store, first.digest, a);
      await expectBlob(store, other.digest, b);
    });

    test('concurrent-same-content', async () => {
      const { store, location } = await setup();
      const a = randomBytes(2 * C + 3);
      const b = randomBytes(3 * C);
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => store.put(pieces(i % 4 === 3 ? b : a, [4096 + i]))),
      );
      for (const [i, r] of results.entries()) {
        const want = i % 4 === 3 ? b : a;
        expect(r).toEqual({ digest: sha256(want), size: want.length });
      }
      await expectBlob(store, sha256(a), a);
      await expectBlob(store, sha256(b), b);
      expect(await location.residue()).toEqual([]);
    });

    test('max-bytes', async () => {
      const { store, location } = await setup();
      const data = randomBytes(2 * C + 1);
      const ok = await store.put(pieces(data, [C]), { maxBytes: data.length });
      expect(ok).toEqual({ digest: sha256(data), size: data.length });
      const longer = Buffer.concat([data, Buffer.from([1])]);
      const err = await store.put(pieces(longer, [C]), { maxBytes: data.length }).catch((e: unknown) => e);
      expectCode(err, 'FALAJ_PAYLOAD_TOO_LARGE');
      expect(await store.has(sha256(longer))).toBe(false);
      // Refused while streaming: a long source is not read to its end first. (Bounded, so that
      // a store that does read it all fails here rather than exhausting the machine.)
      const long = lazySource(LARGE, 64 * 1024);
      const err2 = await store.put(long.source, { maxBytes: MiB }).catch((e: unknown) => e);
      expectCode(err2, 'FALAJ_PAYLOAD_TOO_LARGE');
      expect(long.pulled()).toBeLessThan(MiB + 16 * MiB);
      expect(await location.residue()).toEqual([]);
      await expectBlob(store, ok.digest, data);
    });

    test('failed-source', async () => {
      const { store, location } = await setup();
      const head = randomBytes(3 * C);
      const source = Readable.from(
        (async function* () {
          yield head;
          throw new Error('client went away');
        })(),
      );
      await expect(store.put(source)).rejects.toThrow('client went away');
      expect(await store.has(sha256(head))).toBe(false);
      expect(await location.residue()).toEqual([]);
    });

    test('missing', async () => {
      const { store } = await setup();
      const absent = sha256('never stored');
      expect(await store.has(absent)).toBe(false);
      const err = await store.get(absent).catch((e: unknown) => e);
      expectCode(err, 'FALAJ_NOT_FOUND');
      await store.delete(absent); // harmless
    });

    test('invalid-digest', async () => {
      const { store } = await setup();
      for (const bad of [
        '',
        'abc',
        'A'.repeat(64),
        `${'a'.repeat(63)}g`,
        '../'.repeat(22),
        `${'a'.repeat(64)}/x`,
      ]) {
        for (const op of [() => store.get(bad), () => store.has(bad), () => store.delete(bad)]) {
          expectCode(
            await op().then(
              () => undefined,
              (e: unknown) => e,
            ),
            'FALAJ_INVALID_ARGUMENT',
          );
        }
      }
    });

    test('tampered-ciphertext', async () => {
      const { store, location } = await setup();
      const n = 4 * C + 999; // five chunks, the last one short
      const last = 4 * sealed + 999 + TAG - 1;
      for (const [at, delivered] of [
        [0, 0], // first chunk: refused before a byte
        [2 * sealed + 100, 2 * C], // middle chunk: at most the two chunks before it
        [2 * sealed - 1, C], // the second chunk's tag
        [last, 4 * C], // the last tag
      ] as const) {
        const plain = randomBytes(n);
        const { digest } = await store.put(pieces(plain));
        await location.flipSealedBit(digest, at);
        await expectRefused(store, digest, plain, 'FALAJ_ARTIFACT_INTEGRITY', delivered);
      }
      // A one-chunk blob: not a byte of it.
      const small = randomBytes(100);
      const { digest } = await store.put(pieces(small));
      await location.flipSealedBit(digest, 50);
      await expectRefused(store, digest, small, 'FALAJ_ARTIFACT_INTEGRITY', 0);
    });

    test('truncated-ciphertext', async () => {
      const { store, location } = await setup();
      for (const [length, delivered] of [
        [4 * sealed, 4 * C], // the last chunk dropped
        [2 * sealed + 10, 2 * C], // cut inside a chunk
        [0, 0], // emptied: not an empty artifact
      ] as const) {
        const plain = randomBytes(4 * C + 999);
        const { digest } = await store.put(pieces(plain));
        await location.truncateSealed(digest, length);
        await expectRefused(store, digest, plain, 'FALAJ_ARTIFACT_INTEGRITY', delivered);
      }
    });

    test('delete', async () => {
      const { store, location } = await setup();
      const a = randomBytes(C + 5);
      const b = randomBytes(10);
      const { digest } = await store.put(pieces(a));
      const kept = await store.put(pieces(b));
      await store.delete(digest);
      expect(await store.has(digest)).toBe(false);
      expectCode(await store.get(digest).catch((e: unknown) => e), 'FALAJ_NOT_FOUND');
      await store.delete(digest); // again: harmless
      expect(await location.residue()).toEqual([]);
      await expectBlob(store, kept.digest, b); // others untouched
      // Stored again after deletion: whole again.
      expect(await store.put(pieces(a))).toEqual({ digest, size: a.length });
      await expectBlob(store, digest, a);
    });

    test('new-instance', async () => {
      const { store, location, keyring } = await setup();
      const a = randomBytes(2 * C + 1);
      const b = randomBytes(33);
      const pa = await store.put(pieces(a));
      const pb = await store.put(pieces(b));
      const again = location.open(keyring);
      expect(await again.has(pa.digest)).toBe(true);
      await expectBlob(again, pa.digest, a);
      await again.delete(pb.digest);
      expect(await store.has(pb.digest)).toBe(false);
      const c = randomBytes(C);
      const pc = await again.put(pieces(c));
      await expectBlob(store, pc.digest, c);
    });

    test('crash-debris', async () => {
      const { store, location, keyring } = await setup();
      const a = randomBytes(C + 1);
      const { digest } = await store.put(pieces(a));
      await location.leaveCrashDebris();
      expect(await location.residue()).not.toEqual([]);
      // The next start clears it; complete blobs stay.
      const restarted = location.open(keyring);
      expect(await location.residue()).toEqual([]);
      await expectBlob(restarted, digest, a);
    });

    test('key-rotation', async () => {
      const { store, location, keyring, keyDir } = await setup();
      const a = randomBytes(C + 3);
      const b = randomBytes(50);
      const pa = await store.put(pieces(a)); // wrapped under v1
      expect(keyring.addVersion()).toBe(2);
      const pb = await store.put(pieces(b)); // under v2
      await expectBlob(store, pa.digest, a);
      await expectBlob(store, pb.digest, b);
      expect(await store.rewrapKeys()).toMatchObject({ rewrapped: 1, total: 2 });
      expect(await store.rewrapKeys()).toMatchObject({ rewrapped: 0, total: 2 });
      // Everything now opens without v1, in another instance too.
      const noV1 = location.open(keyringWithout(keyDir, 1, dirs));
      await expectBlob(noV1, pa.digest, a);
      await expectBlob(noV1, pb.digest, b);
      await expectBlob(store, pa.digest, a);
    });

    test('key-unavailable', async () => {
      const { store, location, keyring, keyDir } = await setup();
      const a = randomBytes(C + 3);
      const pa = await store.put(pieces(a)); // under v1
      keyring.addVersion();
      const b = randomBytes(C + 3);
      const pb = await store.put(pieces(b)); // under v2
      const noV2 = location.open(keyringWithout(keyDir, 2, dirs));
      await expectRefused(noV2, pb.digest, b, 'FALAJ_KEY_UNAVAILABLE', 0);
      expect(await noV2.has(pb.digest)).toBe(true); // still there, only not readable
      await expectBlob(noV2, pa.digest, a);
    });

    test('wrong-key', async () => {
      const { store, location } = await setup();
      const a = randomBytes(C + 3);
      const { digest } = await store.put(pieces(a));
      // Another keyring: the same version number, another key.
      const other = location.open(newKeyring(dirs).keyring);
      await expectRefused(other, digest, a, 'FALAJ_ARTIFACT_INTEGRITY', 0);
      await expectBlob(store, digest, a);
    });
  });
}
