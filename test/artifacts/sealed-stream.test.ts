// The sealed-stream format (format 1) pinned down: blobs written before the format moved to its
// own module still open, a fixed key and nonce prefix still give the same bytes, and a reader
// written from the format's description alone (node:crypto, no store code) opens what the
// store writes; and the sealer and opener on their own (the last-chunk mark).
import { createDecipheriv, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalArtifactStore } from '../../src/artifacts/local-artifact-store.js';
import { ChunkOpener, ChunkSealer } from '../../src/artifacts/sealed-stream.js';
import { Keyring } from '../../src/security/secrets/keyring.js';
import {
  FORMAT1_BLOBS,
  FORMAT1_FILES,
  fixturePlaintext,
  GOLDEN_KEY,
  GOLDEN_PREFIX,
  GOLDEN_SEALED_HEX,
} from './fixtures/format1-blobs.js';
import { drain, expectCode, pieces, sha256 } from './helpers.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** The committed fixture, copied into a fresh data dir (the store and keyring may write there). */
function fixtureDataDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'falaj-format1-'));
  dirs.push(dir);
  for (const [rel, b64] of Object.entries(FORMAT1_FILES)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), Buffer.from(b64, 'base64'), { mode: 0o600 });
  }
  return dir;
}

/**
 * Opens one object following the description at the top of src/artifacts/sealed-stream.ts,
 * with node:crypto only: unwraps the data key with the raw key-encryption key from an
 * unsealed keyring.json, then opens every chunk.
 */
function openBySpec(dataDir: string, digest: string): Buffer {
  const objectDir = path.join(dataDir, 'artifacts', 'blobs', digest.slice(0, 2), digest);
  const sidecar = JSON.parse(readFileSync(path.join(objectDir, 'key.json'), 'utf8')) as {
    format: number;
    cipher: string;
    chunkSize: number;
    prefix: string;
    size: number;
    key: string;
  };
  expect(sidecar.format).toBe(1);
  expect(sidecar.cipher).toBe('aes-256-gcm-chunked');
  const keyring = JSON.parse(readFileSync(path.join(dataDir, 'keys', 'keyring.json'), 'utf8')) as {
    keys: { version: number; key: string }[];
  };
  const m = /^v(\d+):(.*)$/.exec(sidecar.key)!;
  const version = Number(m[1]);
  const kek = Buffer.from(keyring.keys.find((k) => k.version === version)!.key, 'base64');
  const wrapped = Buffer.from(m[2]!, 'base64');
  const context = `falaj-artifact|${digest}|${sidecar.prefix}|${sidecar.chunkSize}|${sidecar.size}|v${version}`;
  const unwrap = createDecipheriv('aes-256-gcm', kek, wrapped.subarray(0, 12));
  unwrap.setAAD(Buffer.from(context));
  unwrap.setAuthTag(wrapped.subarray(wrapped.length - 16));
  const dataKey = Buffer.concat([unwrap.update(wrapped.subarray(12, wrapped.length - 16)), unwrap.final()]);
  expect(dataKey.length).toBe(32);

  const prefix = Buffer.from(sidecar.prefix, 'hex');
  const data = readFileSync(path.join(objectDir, 'data'));
  const chunks = Math.max(1, Math.ceil(sidecar.size / sidecar.chunkSize));
  expect(data.length).toBe(sidecar.size + 16 * chunks);
  const out: Buffer[] = [];
  for (let i = 0, off = 0; i < chunks; i++) {
    const last = i === chunks - 1;
    const plainLen = last ? sidecar.size - i * sidecar.chunkSize : sidecar.chunkSize;
    const nonce = Buffer.alloc(12);
    prefix.copy(nonce, 0);
    nonce.writeUInt32BE(i, 8);
    const d = createDecipheriv('aes-256-gcm', dataKey, nonce, { authTagLength: 16 });
    d.setAAD(Buffer.concat([Buffer.from('falaj-artifact-v1'), prefix, Buffer.from([last ? 1 : 0])]));
    d.setAuthTag(data.subarray(off + plainLen, off + plainLen + 16));
    out.push(d.update(data.subarray(off, off + plainLen)), d.final());
    off += plainLen + 16;
  }
  const plain = Buffer.concat(out);
  expect(sha256(plain)).toBe(digest);
  return plain;
}

describe('sealed-stream format 1: compatibility', () => {
  it('blobs written before the format moved out of the local store still open, and re-wrap', async () => {
    const dir = fixtureDataDir();
    const keyring = Keyring.open(dir);
    expect(keyring.versions).toEqual([1, 2]);
    const store = new LocalArtifactStore(path.join(dir, 'artifacts'), keyring);
    for (const blob of FORMAT1_BLOBS) {
      const want = fixturePlaintext(blob.label, blob.size);
      expect(sha256(want)).toBe(blob.digest);
      const { data, error } = await drain(await store.get(blob.digest));
      expect(error).toBeUndefined();
      expect(data.equals(want)).toBe(true);
    }
    // Two were wrapped under v1: re-wrapping moves them to v2 and they still open.
    expect(await store.rewrapKeys()).toEqual({ rewrapped: 2, total: 3, failed: [] });
    for (const blob of FORMAT1_BLOBS) {
      expect(
        (await drain(await store.get(blob.digest))).data.equals(fixturePlaintext(blob.label, blob.size)),
      ).toBe(true);
    }
  });

  it('the fixture opens with a reader written from the format description alone', () => {
    const dir = fixtureDataDir();
    for (const blob of FORMAT1_BLOBS) {
      expect(openBySpec(dir, blob.digest).equals(fixturePlaintext(blob.label, blob.size))).toBe(true);
    }
  });

  it('what the store writes now opens with that reader too (empty, one chunk, many chunks)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'falaj-format1-'));
    dirs.push(dir);
    const keyring = Keyring.open(dir);
    keyring.addVersion();
    for (const chunkSize of [16, undefined]) {
      const store = new LocalArtifactStore(path.join(dir, 'artifacts'), keyring, { chunkSize });
      for (const n of [0, 1, 16, 17, 100, 70_000, 200_000]) {
        const plain = randomBytes(n);
        const { digest } = await store.put(pieces(plain, [7, 4096]));
        expect(openBySpec(dir, digest).equals(plain)).toBe(true);
      }
    }
  });

  it('a fixed key and nonce prefix give the same sealed bytes as before, and open again', async () => {
    const plain = fixturePlaintext('golden', 40);
    const sealer = new ChunkSealer(GOLDEN_KEY, GOLDEN_PREFIX, 16, undefined);
    const sealed = (await drain(pieces(plain, [3]).pipe(sealer))).data;
    expect(sealed.toString('hex')).toBe(GOLDEN_SEALED_HEX);
    const opener = new ChunkOpener(GOLDEN_KEY, GOLDEN_PREFIX, 16, sha256(plain), plain.length);
    expect((await drain(pieces(sealed, [5]).pipe(opener))).data.equals(plain)).toBe(true);
  });

  it('one flipped bit in the golden bytes is refused', async () => {
    const plain = fixturePlaintext('golden', 40);
    for (let i = 0; i < GOLDEN_SEALED_HEX.length / 2; i += 7) {
      const sealed = Buffer.from(GOLDEN_SEALED_HEX, 'hex');
      sealed[i] = sealed[i]! ^ 0x80;
      const opener = new ChunkOpener(GOLDEN_KEY, GOLDEN_PREFIX, 16, sha256(plain), plain.length);
      const { data, error } = await drain(pieces(sealed).pipe(opener));
      expectCode(error, 'FALAJ_ARTIFACT_INTEGRITY');
      expect(data.length).toBeLessThanOrEqual(Math.floor(i / 32) * 16);
    }
  });
});

describe('chunk envelope: the last-chunk mark', () => {
  const key = randomBytes(32);
  const prefix = randomBytes(8);
  async function seal(plain: Buffer): Promise<Buffer> {
    return (await drain(pieces(plain, [5]).pipe(new ChunkSealer(key, prefix, 16, undefined)))).data;
  }
  const open = (sealedBytes: Buffer, plain: Buffer) =>
    drain(pieces(sealedBytes, [7]).pipe(new ChunkOpener(key, prefix, 16, sha256(plain), plain.length)));

  it('opens what it sealed', async () => {
    const plain = randomBytes(40); // chunks of 16, 16 and 8 bytes
    const sealedBytes = await seal(plain);
    expect(sealedBytes.length).toBe(40 + 3 * 16);
    expect((await open(sealedBytes, plain)).data.equals(plain)).toBe(true);
  });

  it('dropping the last chunk is caught by the mark alone (size and hash made to agree)', async () => {
    const plain = randomBytes(40);
    const sealedBytes = await seal(plain);
    // The opener is told the truncated size and hash, as if the sidecar had been forged to match:
    // the new last chunk was sealed as "not last", so its tag fails.
    const { data, error } = await open(sealedBytes.subarray(0, 2 * 32), plain.subarray(0, 32));
    expectCode(error, 'FALAJ_ARTIFACT_INTEGRITY');
    expect((error as { details?: { chunk?: number } }).details?.chunk).toBe(1);
    expect(data.length).toBeLessThanOrEqual(16);
    expect(data.equals(plain.subarray(0, data.length))).toBe(true);
  });

  it('a chunk appended after the last one is refused', async () => {
    const plain = randomBytes(32);
    const sealedBytes = await seal(plain);
    const extended = Buffer.concat([sealedBytes, sealedBytes.subarray(0, 32)]);
    expectCode((await open(extended, plain)).error, 'FALAJ_ARTIFACT_INTEGRITY');
  });
});
