import { execFileSync, spawnSync } from 'node:child_process';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect } from 'node:net';
import path from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { createSandbox, DIALECTS, type Sandbox } from '../support/dialects.js';
import {
  assertBuilt,
  CLI,
  loginAdmin,
  type ServerProcess,
  startServerProcess,
} from '../support/server-process.js';

const sandboxes: Sandbox[] = [];
const servers: ServerProcess[] = [];
async function sandbox(dialect: 'sqlite' | 'postgres') {
  const s = await createSandbox(dialect);
  sandboxes.push(s);
  return s;
}
async function server(opts: Parameters<typeof startServerProcess>[0]) {
  const s = await startServerProcess(opts);
  servers.push(s);
  return s;
}
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.kill('SIGKILL');
    await s.exited;
  }
  for (const s of sandboxes.splice(0)) await s.dispose();
});

function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** Resolves true once nothing accepts connections on the port (bounded retries, no fixed sleep). */
async function refusesConnections(port: number): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    const refused = await new Promise<boolean>((resolve) => {
      const sock = netConnect({ host: '127.0.0.1', port });
      sock.once('connect', () => {
        sock.destroy();
        resolve(false);
      });
      sock.once('error', () => resolve(true));
    });
    if (refused) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

describe('server process', () => {
  it('on SIGTERM stops accepting, finishes the request in flight, closes the store and exits 0', async () => {
    const sb = await sandbox('sqlite');
    const s = await server({ dataDir: sb.dataDir });
    const token = await loginAdmin(s.url);
    const body = JSON.stringify({ name: 'in-flight', description: 'sent in two halves' });
    // Half a request body: the request is in flight when the signal arrives.
    const sock = netConnect({ host: '127.0.0.1', port: portOf(s.url) });
    await new Promise((r) => sock.once('connect', r));
    let response = '';
    sock.on('data', (d) => {
      response += d.toString();
    });
    sock.write(
      `POST /api/v1/projects HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, 10)}`,
    );
    await new Promise((r) => setTimeout(r, 100));
    s.kill('SIGTERM');
    expect(await refusesConnections(portOf(s.url))).toBe(true);
    sock.end(body.slice(10));
    await new Promise((r) => sock.once('close', r));
    expect(response).toMatch(/^HTTP\/1.1 201/);
    expect(await s.exited).toBe(0);
    expect(s.output()).toContain('"msg":"stopped"');
  });

  it('refuses plain HTTP on a non-loopback address unless forced', async () => {
    assertBuilt();
    const sb = await sandbox('sqlite');
    const refused = spawnSync(
      process.execPath,
      [CLI, 'server', '--data-dir', sb.dataDir, '--host', '0.0.0.0', '--port', '0'],
      {
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('FALAJ_CONFIG');
    const forced = await server({ dataDir: sb.dataDir, args: ['--host', '0.0.0.0', '--insecure-http'] });
    const res = await fetch(`http://127.0.0.1:${portOf(forced.url)}/healthz`);
    expect(res.status).toBe(200);
  });

  it('serves HTTPS with TLS 1.2+ and HSTS', async () => {
    const sb = await sandbox('sqlite');
    const cert = path.join(sb.dataDir, 'cert.pem');
    const key = path.join(sb.dataDir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    const s = await server({ dataDir: sb.dataDir, args: ['--tls-cert', cert, '--tls-key', key] });
    expect(s.url).toMatch(/^https:/);
    const port = portOf(s.url);
    const { headers, protocol } = await new Promise<{ headers: Record<string, unknown>; protocol: string }>(
      (resolve, reject) => {
        const req = httpsRequest(
          { host: '127.0.0.1', port, path: '/healthz', rejectUnauthorized: false },
          (res) => {
            const protocol = (res.socket as import('node:tls').TLSSocket).getProtocol() ?? '';
            res.resume();
            res.on('end', () => resolve({ headers: res.headers, protocol }));
          },
        );
        req.on('error', reject);
        req.end();
      },
    );
    expect(headers['strict-transport-security']).toMatch(/max-age=\d+/);
    expect(['TLSv1.2', 'TLSv1.3']).toContain(protocol);
    const old = await new Promise<string>((resolve) => {
      const sock = tlsConnect({
        host: '127.0.0.1',
        port,
        rejectUnauthorized: false,
        minVersion: 'TLSv1',
        maxVersion: 'TLSv1.1',
      });
      sock.once('secureConnect', () => {
        sock.destroy();
        resolve('connected');
      });
      sock.once('error', () => resolve('refused'));
    });
    expect(old).toBe('refused');
    // Plain HTTP on the TLS port gets nothing useful.
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });
});

describe.runIf(DIALECTS.includes('postgres'))('two servers on one PostgreSQL', () => {
  it('start together (one migration, one admin) and serve the same data', async () => {
    const sb = await sandbox('postgres');
    // Scaled out, servers share the keyring and artifacts (here: one data dir, as on a shared volume).
    const [a, b] = await Promise.all([
      server({ dataDir: sb.dataDir, databaseUrl: sb.databaseUrl }),
      server({ dataDir: sb.dataDir, databaseUrl: sb.databaseUrl }),
    ]);
    const [ta, tb] = await Promise.all([loginAdmin(a!.url), loginAdmin(b!.url)]);
    const created = await fetch(`${a!.url}/api/v1/projects`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ta}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'shared' }),
    });
    expect(created.status).toBe(201);
    const seen = (await (
      await fetch(`${b!.url}/api/v1/projects`, { headers: { authorization: `Bearer ${tb}` } })
    ).json()) as {
      projects: { name: string }[];
    };
    expect(seen.projects.map((p) => p.name)).toEqual(['shared']);
    // Interleaved writes through both servers keep one audit chain without gaps.
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        fetch(`${(i % 2 ? a : b)!.url}/api/v1/projects`, {
          method: 'POST',
          headers: { authorization: `Bearer ${i % 2 ? ta : tb}`, 'content-type': 'application/json' },
          body: JSON.stringify({ name: `p${i}` }),
        }),
      ),
    );
    const pg = (await import('pg')).default;
    const c = new pg.Client({ connectionString: sb.databaseUrl });
    await c.connect();
    const users = await c.query("select count(*)::int as n from users where username = 'admin'");
    const seqs = await c.query('select seq from audit_events order by seq');
    await c.end();
    expect(users.rows[0].n).toBe(1);
    const list = seqs.rows.map((r: { seq: string | number }) => Number(r.seq));
    expect(list).toEqual(list.map((_, i) => i + 1));
    expect(list.length).toBeGreaterThanOrEqual(24);
  });
});
