// The local-folder artifact store against the artifact store conformance suite. The store
// keeps nothing in the database (blobs and sidecars are files, the keyring is a file), so the
// suite runs once, not per dialect.
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalArtifactStore } from '../../src/artifacts/local-artifact-store.js';
import { ARTIFACT_CHUNK_SIZE } from '../../src/artifacts/sealed-stream.js';
import { artifactStoreConformance } from './conformance.js';
import { deadPid, listFiles, sha256 } from './helpers.js';

artifactStoreConformance({
  name: 'local',
  chunkSize: ARTIFACT_CHUNK_SIZE,
  async location() {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'falaj-local-conf-'));
    const root = path.join(dir, 'artifacts');
    const dataFile = (digest: string) => path.join(root, 'blobs', digest.slice(0, 2), digest, 'data');
    return {
      open: (keyring) => new LocalArtifactStore(root, keyring),
      async flipSealedBit(digest, offset) {
        const bytes = readFileSync(dataFile(digest));
        bytes[offset] = bytes[offset]! ^ 0x01;
        writeFileSync(dataFile(digest), bytes);
      },
      async truncateSealed(digest, length) {
        truncateSync(dataFile(digest), length);
      },
      async leaveCrashDebris() {
        const host = sha256(os.hostname()).slice(0, 8);
        const work = path.join(root, 'tmp', `u-${deadPid()}-abcdef-${host}`);
        mkdirSync(work, { recursive: true });
        writeFileSync(path.join(work, 'data'), 'partial');
      },
      async residue() {
        // Anything in tmp/, and any object folder that is not exactly `data` and `key.json`.
        const out = listFiles(path.join(root, 'tmp')).map((f) => `tmp/${f}`);
        const blobs = path.join(root, 'blobs');
        for (const shard of readdirSync(blobs)) {
          for (const name of readdirSync(path.join(blobs, shard))) {
            const files = readdirSync(path.join(blobs, shard, name)).sort();
            if (files.join() !== 'data,key.json')
              out.push(`blobs/${shard}/${name}: ${files.join() || '(empty)'}`);
          }
        }
        return out;
      },
      async dispose() {
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
});
