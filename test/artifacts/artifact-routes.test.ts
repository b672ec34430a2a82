// The artifact HTTP API on each dialect: streamed upload and download, listing, deletion and
// blob sharing, path traversal, roles, the size limit, and damaged data over the wire.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalArtifactStore } from '../../src/artifacts/local-artifact-store.js';
import { ARTIFACT_CHUNK_SIZE } from '../../src/artifacts/sealed-stream.js';
import { createTestContext, type TestContext } from '../support/app.js';
import { DIALECTS } from '../support/dialects.js';
import { listFiles, sha256 } from './helpers.js';

const C = ARTIFACT_CHUNK_SIZE;

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The server cut the connection before the announced content-length arrived. */
  cutShort: boolean;
}

/** A request over a real socket with the path sent exactly as given (no URL normalisation). */
function raw(
  base: string,
  method: string,
  rawPath: string,
  headers: Record<string, string> = {},
  body?: Buffer,
): Promise<RawResponse> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, method, path: rawPath, headers, agent: false },
      (res) => {
        const parts: Buffer[] = [];
        let cutShort = false;
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('aborted', () => {
          cutShort = true;
        });
        const done = () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(parts),
            cutShort,
          });
        res.on('end', done);
        res.on('error', () => {
          cutShort = true;
          done();
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe.each(DIALECTS)('artifact routes on %s', (dialect) => {
  let t: TestContext;
  let editor: string;
  let viewer: string;
  let maintainer: string;
  let outsider: string;
  let baseUrl: string;
  const files = (project: string, p: string) => `/api/v1/projects/${project}/artifacts/files/${p}`;
  const store = () => t.svc.artifacts as LocalArtifactStore;
  const tmpEntries = () => listFiles(path.join(t.sandbox.dataDir, 'artifacts', 'tmp'));
  const blobFiles = () => listFiles(path.join(t.sandbox.dataDir, 'artifacts', 'blobs'));
  const rows = (project = 'alpha') =>
    t.svc.store.db
      .selectFrom('artifacts as a')
      .innerJoin('projects as p', 'p.id', 'a.project_id')
      .select(['a.path', 'a.digest', 'a.size'])
      .where('p.name', '=', project)
      .orderBy('a.path')
      .execute();

  const put = (
    token: string | undefined,
    project: string,
    p: string,
    body: Buffer | Readable,
    headers = {},
  ) =>
    t.app.inject({
      method: 'PUT',
      url: files(project, p),
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        'content-type': 'application/octet-stream',
        ...headers,
      },
      payload: body,
    });
  const get = (token: string | undefined, project: string, p: string, headers = {}) =>
    t.app.inject({
      method: 'GET',
      url: files(project, p),
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    });

  beforeAll(async () => {
    t = await createTestContext(dialect);
    for (const name of ['alpha', 'beta']) {
      const res = await t.request('POST', '/api/v1/projects', { token: t.adminToken, body: { name } });
      expect(res.statusCode).toBe(201);
    }
    editor = await t.userWithSession('ed');
    viewer = await t.userWithSession('vi');
    maintainer = await t.userWithSession('ma');
    outsider = await t.userWithSession('bo');
    const member = async (project: string, username: string, role: string) =>
      expect(
        (
          await t.request('PUT', `/api/v1/projects/${project}/members/${username}`, {
            token: t.adminToken,
            body: { role },
          })
        ).statusCode,
      ).toBe(200);
    await member('alpha', 'ed', 'editor');
    await member('alpha', 'vi', 'viewer');
    await member('alpha', 'ma', 'maintainer');
    await member('beta', 'bo', 'editor');
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => t?.close());

  it('uploads a streamed body and serves it back with its digest', async () => {
    const data = randomBytes(3 * C + 5);
    const res = await put(editor, 'alpha', 'models/v1/model.bin', data);
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({ path: 'models/v1/model.bin', digest: sha256(data), size: data.length });

    const back = await get(viewer, 'alpha', 'models/v1/model.bin');
    expect(back.statusCode).toBe(200);
    expect(back.rawPayload.equals(data)).toBe(true);
    expect(back.headers['content-length']).toBe(String(data.length));
    expect(back.headers['x-falaj-digest']).toBe(sha256(data));
    expect(back.headers.etag).toBe(`"${sha256(data)}"`);
    expect(back.headers['content-type']).toBe('application/octet-stream');

    const head = await t.app.inject({
      method: 'HEAD',
      url: files('alpha', 'models/v1/model.bin'),
      headers: { authorization: `Bearer ${viewer}` },
    });
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-length']).toBe(String(data.length));
    const cached = await get(viewer, 'alpha', 'models/v1/model.bin', {
      'if-none-match': `"${sha256(data)}"`,
    });
    expect(cached.statusCode).toBe(304);

    const events = await t.svc.store.db
      .selectFrom('audit_events')
      .select(['actor', 'action', 'object_id', 'details'])
      .where('action', '=', 'artifact.put')
      .execute();
    expect(events).toEqual([
      expect.objectContaining({ actor: 'user:ed', object_id: 'alpha/models/v1/model.bin' }),
    ]);
    expect(JSON.parse(events[0]!.details)).toMatchObject({ digest: sha256(data), size: data.length });
  });

  it('an empty file and any declared content type round-trip', async () => {
    const res = await put(editor, 'alpha', 'empty.txt', Buffer.alloc(0), { 'content-type': 'text/plain' });
    expect(res.statusCode).toBe(201);
    expect(res.json().size).toBe(0);
    const json = await put(editor, 'alpha', 'config.json', Buffer.from('{"not": "parsed'), {
      'content-type': 'application/json',
    });
    expect(json.statusCode).toBe(201);
    expect((await get(viewer, 'alpha', 'config.json')).body).toBe('{"not": "parsed');
    const back = await get(viewer, 'alpha', 'empty.txt');
    expect(back.statusCode).toBe(200);
    expect(back.rawPayload.length).toBe(0);
  });

  it('lists by prefix, in pages', async () => {
    for (const p of ['runs/a/1', 'runs/a/2', 'runs/a/3', 'runs/b/1']) {
      expect((await put(editor, 'alpha', p, Buffer.from(p))).statusCode).toBe(201);
    }
    const list = async (q: string) => {
      const res = await t.request('GET', `/api/v1/projects/alpha/artifacts?${q}`, { token: viewer });
      expect(res.statusCode).toBe(200);
      return res.json() as {
        artifacts: { path: string; size: number; digest: string }[];
        next: string | null;
      };
    };
    const page1 = await list('prefix=runs/a/&limit=2');
    expect(page1.artifacts.map((a) => a.path)).toEqual(['runs/a/1', 'runs/a/2']);
    expect(page1.next).toBe('runs/a/2');
    const page2 = await list(`prefix=runs/a/&limit=2&after=${encodeURIComponent(page1.next!)}`);
    expect(page2.artifacts.map((a) => a.path)).toEqual(['runs/a/3']);
    expect(page2.next).toBeNull();
    expect((await list('prefix=runs/')).artifacts).toHaveLength(4);
    expect((await list('prefix=runs/b')).artifacts[0]).toMatchObject({
      path: 'runs/b/1',
      size: 8,
      digest: sha256('runs/b/1'),
      contentType: 'application/octet-stream',
      createdBy: 'ed',
    });
    const bad = await t.request('GET', '/api/v1/projects/alpha/artifacts?prefix=../', { token: viewer });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('FALAJ_INVALID_PATH');
    const badLimit = await t.request('GET', '/api/v1/projects/alpha/artifacts?limit=0', { token: viewer });
    expect(badLimit.json().error.code).toBe('FALAJ_VALIDATION');
  });

  it('blobs are shared by content and removed when no path references them', async () => {
    const one = randomBytes(1000);
    const two = randomBytes(2000);
    expect((await put(editor, 'alpha', 'share/one', one)).statusCode).toBe(201);
    expect((await put(editor, 'alpha', 'share/two', one)).statusCode).toBe(201);
    expect((await put(outsider, 'beta', 'elsewhere', one)).statusCode).toBe(201);
    expect(await store().has(sha256(one))).toBe(true);
    // Replacing a path keeps the old blob while other paths use it.
    const replaced = await put(editor, 'alpha', 'share/one', two);
    expect(replaced.statusCode).toBe(201);
    expect((await get(viewer, 'alpha', 'share/one')).rawPayload.equals(two)).toBe(true);
    expect(await store().has(sha256(one))).toBe(true);

    const del = (p: string, token = maintainer, project = 'alpha') =>
      t.request('DELETE', files(project, p), { token });
    expect((await del('share/two')).statusCode).toBe(204);
    expect((await get(viewer, 'alpha', 'share/two')).statusCode).toBe(404);
    expect(await store().has(sha256(one))).toBe(true); // beta still has it
    expect((await del('elsewhere', outsider, 'beta')).statusCode).toBe(403); // editor may not delete
    expect((await del('elsewhere', t.adminToken, 'beta')).statusCode).toBe(204);
    expect(await store().has(sha256(one))).toBe(false);
    expect((await del('share/one')).statusCode).toBe(204);
    expect(await store().has(sha256(two))).toBe(false);
    const missing = await del('share/one');
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('FALAJ_NOT_FOUND');
  });

  it('path traversal is refused with FALAJ_INVALID_PATH and nothing is stored', async () => {
    const before = { rows: await rows(), blobs: blobFiles() };
    const auth = { authorization: `Bearer ${editor}`, 'content-type': 'application/octet-stream' };
    // Over a real socket: the path reaches the server exactly as sent.
    for (const p of [
      '../x',
      '../../../../etc/passwd',
      '%2e%2e/x',
      '%2E%2E%2Fx',
      'a/%2e%2e/%2e%2e/x',
      'a/../../x',
      './x',
      'a/./x',
      '/etc/passwd',
      '%2Fetc%2Fpasswd',
      'a//b',
      'a/%00.txt',
      'a%00',
      'a%5C..%5Cx',
      'a\\..\\x',
      'C:%5Cwindows',
      'a%0Ab',
      `${'a'.repeat(300)}`,
    ]) {
      const res = await raw(
        baseUrl,
        'PUT',
        `/api/v1/projects/alpha/artifacts/files/${p}`,
        auth,
        Buffer.from('evil'),
      );
      expect(res.status, p).toBe(400);
      expect(JSON.parse(res.body.toString()).error.code, p).toBe('FALAJ_INVALID_PATH');
      const read = await raw(baseUrl, 'GET', `/api/v1/projects/alpha/artifacts/files/${p}`, {
        authorization: `Bearer ${viewer}`,
      });
      expect(read.status, p).toBe(400);
    }
    // Through inject, whose URL parser resolves dot segments first: never stored either.
    for (const p of ['../x', '%2e%2e/x', '..%2Fx', '%2e%2e%2f%2e%2e%2fx']) {
      const res = await put(editor, 'alpha', p, Buffer.from('evil'));
      expect([400, 404], p).toContain(res.statusCode);
    }
    expect(await rows()).toEqual(before.rows);
    expect(blobFiles()).toEqual(before.blobs);
    expect(tmpEntries()).toEqual([]);
  });

  it('roles: viewers read, editors write, maintainers delete; other projects see nothing', async () => {
    const data = randomBytes(500);
    const denied = await put(viewer, 'alpha', 'rbac/file', data);
    expect(denied.statusCode).toBe(403);
    expect(denied.json().error.code).toBe('FALAJ_FORBIDDEN');
    expect(await store().has(sha256(data))).toBe(false);
    expect((await put(undefined, 'alpha', 'rbac/file', data)).statusCode).toBe(401);
    expect((await put(editor, 'alpha', 'rbac/file', data)).statusCode).toBe(201);

    expect((await get(viewer, 'alpha', 'rbac/file')).statusCode).toBe(200);
    expect((await get(undefined, 'alpha', 'rbac/file')).statusCode).toBe(401);
    expect((await t.request('DELETE', files('alpha', 'rbac/file'), { token: viewer })).statusCode).toBe(403);
    expect((await t.request('DELETE', files('alpha', 'rbac/file'), { token: editor })).statusCode).toBe(403);

    // A member of beta cannot reach alpha's files, by alpha's URL or by path or digest in beta.
    expect((await get(outsider, 'alpha', 'rbac/file')).statusCode).toBe(403);
    expect((await t.request('GET', '/api/v1/projects/alpha/artifacts', { token: outsider })).statusCode).toBe(
      403,
    );
    expect((await get(outsider, 'beta', 'rbac/file')).statusCode).toBe(404);
    expect((await get(outsider, 'beta', sha256(data))).statusCode).toBe(404);
    const betaList = await t.request('GET', '/api/v1/projects/beta/artifacts', { token: outsider });
    expect(betaList.json().artifacts.map((a: { path: string }) => a.path)).not.toContain('rbac/file');
    expect((await t.request('DELETE', files('alpha', 'rbac/file'), { token: maintainer })).statusCode).toBe(
      204,
    );
  });

  it('an upload over the limit gets 413 and leaves nothing behind', async () => {
    const limit = t.svc.config.maxArtifactBytes;
    t.svc.config.maxArtifactBytes = 100_000;
    try {
      const before = { rows: await rows(), blobs: blobFiles() };
      const big = randomBytes(100_001);
      // Declared too big: refused before a byte is read.
      const declared = await put(editor, 'alpha', 'big.bin', big);
      expect(declared.statusCode).toBe(413);
      expect(declared.json().error.code).toBe('FALAJ_PAYLOAD_TOO_LARGE');
      // Streamed without a length: refused once the limit is crossed, partial data removed.
      const streamed = await put(
        editor,
        'alpha',
        'big.bin',
        Readable.from([big.subarray(0, 60_000), big.subarray(60_000)]),
      );
      expect(streamed.statusCode).toBe(413);
      expect(streamed.json().error.code).toBe('FALAJ_PAYLOAD_TOO_LARGE');
      const overSocket = await raw(
        baseUrl,
        'PUT',
        files('alpha', 'big.bin'),
        { authorization: `Bearer ${editor}`, 'content-type': 'application/octet-stream' },
        big,
      ).catch(() => null); // the server may close before reading the rest: either way no 2xx
      if (overSocket) expect(overSocket.status).toBe(413);
      expect(await rows()).toEqual(before.rows);
      expect(blobFiles()).toEqual(before.blobs);
      expect(tmpEntries()).toEqual([]);
      expect((await put(editor, 'alpha', 'big.bin', big.subarray(0, 100_000))).statusCode).toBe(201);
    } finally {
      t.svc.config.maxArtifactBytes = limit;
    }
  });

  it('a client that goes away mid-upload leaves nothing behind', async () => {
    const before = { rows: await rows(), blobs: blobFiles() };
    const u = new URL(baseUrl);
    const req = http.request({
      host: u.hostname,
      port: u.port,
      method: 'PUT',
      path: files('alpha', 'abandoned.bin'),
      headers: {
        authorization: `Bearer ${editor}`,
        'content-type': 'application/octet-stream',
        'content-length': String(20 * 1024 * 1024),
      },
    });
    req.on('error', () => {});
    for (let i = 0; i < 8; i++) req.write(randomBytes(256 * 1024));
    const tmp = path.join(t.sandbox.dataDir, 'artifacts', 'tmp');
    const deadline = Date.now() + 10_000;
    while (listFiles(tmp).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(listFiles(tmp).length).toBeGreaterThan(0); // the upload had started
    req.destroy();
    while (listFiles(tmp).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(tmpEntries()).toEqual([]);
    expect(await rows()).toEqual(before.rows);
    expect(blobFiles()).toEqual(before.blobs);
  });

  it('damaged data: an error before the first byte, a cut connection after', async () => {
    // Bigger than the store's first read (1 MiB), so that the response starts before the damage.
    const data = randomBytes(40 * C);
    const { digest } = (await put(editor, 'alpha', 'damaged.bin', data)).json() as { digest: string };
    const file = store().objectPaths(digest).data;
    const original = readFileSync(file);
    try {
      const early = Buffer.from(original);
      early[10] = early[10]! ^ 0xff;
      writeFileSync(file, early);
      const res = await get(viewer, 'alpha', 'damaged.bin');
      expect(res.statusCode).toBe(500);
      expect(res.json().error.code).toBe('FALAJ_ARTIFACT_INTEGRITY');

      const late = Buffer.from(original);
      const at = 30 * (C + 16) + 100; // inside chunk 30
      late[at] = late[at]! ^ 0xff;
      writeFileSync(file, late);
      const cut = await raw(baseUrl, 'GET', files('alpha', 'damaged.bin'), {
        authorization: `Bearer ${viewer}`,
      });
      expect(cut.status).toBe(200);
      expect(cut.headers['content-length']).toBe(String(data.length));
      expect(cut.cutShort || cut.body.length < data.length).toBe(true);
      expect(cut.body.length).toBeLessThanOrEqual(30 * C);
      expect(cut.body.equals(data.subarray(0, cut.body.length))).toBe(true);
    } finally {
      writeFileSync(file, original);
    }
    expect((await get(viewer, 'alpha', 'damaged.bin')).rawPayload.equals(data)).toBe(true);
  });
});
