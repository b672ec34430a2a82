// `kill -9` of a real server process in the middle of a slow streamed upload: after a restart
// there is no artifact row, no blob and no tmp file, and what was complete before is intact.
// Starts the built CLI: run `npm run build` first.
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createSandbox, DIALECTS } from '../support/dialects.js';
import { loginAdmin, type ServerProcess, startServerProcess } from '../support/server-process.js';
import { listFiles, sha256 } from './helpers.js';

async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe.each(DIALECTS)('kill -9 during an upload on %s', (dialect) => {
  it('leaves no row, no blob and no tmp file visible after a restart', async () => {
    const sandbox = await createSandbox(dialect);
    const tmp = path.join(sandbox.dataDir, 'artifacts', 'tmp');
    const blobs = path.join(sandbox.dataDir, 'artifacts', 'blobs');
    const start = () => startServerProcess({ dataDir: sandbox.dataDir, databaseUrl: sandbox.databaseUrl });
    let server: ServerProcess | undefined = await start();
    try {
      let token = await loginAdmin(server.url);
      const api = (url: string, method = 'GET', body?: unknown, headers: Record<string, string> = {}) =>
        fetch(`${server!.url}${url}`, {
          method,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        });
      expect((await api('/api/v1/projects', 'POST', { name: 'crash' })).status).toBe(201);
      const kept = randomBytes(300_000);
      const done = await fetch(`${server.url}/api/v1/projects/crash/artifacts/files/kept.bin`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
        body: kept,
      });
      expect(done.status).toBe(201);
      const blobsBefore = listFiles(blobs);
      expect(blobsBefore).toHaveLength(2);

      // A slow upload: 64 MB announced, a few MB sent in pieces, then the server is killed.
      const url = new URL(`${server.url}/api/v1/projects/crash/artifacts/files/partial.bin`);
      const req = http.request(url, {
        method: 'PUT',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/octet-stream',
          'content-length': String(64 * 1024 * 1024),
        },
      });
      req.on('error', () => {}); // the server dies under it
      for (let i = 0; i < 16; i++) {
        req.write(randomBytes(256 * 1024));
        await sleep(10);
      }
      const partialData = () =>
        listFiles(tmp)
          .filter((f) => f.endsWith('/data'))
          .map((f) => statSync(path.join(tmp, f)).size);
      await until('the server to write part of the upload', () =>
        partialData().some((n) => n >= 1024 * 1024),
      );
      server.kill('SIGKILL');
      expect(await server.exited).toBe('SIGKILL');
      server = undefined;
      req.destroy();
      // The debris is there (in tmp/), but nothing in blobs/ besides the completed artifact.
      expect(listFiles(tmp).length).toBeGreaterThan(0);
      expect(listFiles(blobs)).toEqual(blobsBefore);

      server = await start();
      token = await loginAdmin(server.url);
      expect(listFiles(tmp)).toEqual([]);
      expect(listFiles(blobs)).toEqual(blobsBefore);
      const listed = (await (await api('/api/v1/projects/crash/artifacts')).json()) as {
        artifacts: { path: string; digest: string }[];
      };
      expect(listed.artifacts.map((a) => a.path)).toEqual(['kept.bin']);
      const back = await api('/api/v1/projects/crash/artifacts/files/partial.bin');
      expect(back.status).toBe(404);
      const keptBack = await api('/api/v1/projects/crash/artifacts/files/kept.bin');
      expect(keptBack.status).toBe(200);
      expect(sha256(Buffer.from(await keptBack.arrayBuffer()))).toBe(sha256(kept));
    } finally {
      if (server) {
        server.kill('SIGTERM');
        await server.exited;
      }
      await sandbox.dispose();
    }
  });
});
