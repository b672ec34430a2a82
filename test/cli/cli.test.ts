// The `falaj` command end to end: a real server process, the built CLI as a child process,
// a private config file. Each step is what a new user would type.
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandbox, type Sandbox } from '../support/dialects.js';
import { CLI, type ServerProcess, startServerProcess } from '../support/server-process.js';

let sb: Sandbox;
let server: ServerProcess;
let configFile: string;

function falaj(args: string[], opts: { input?: string; env?: Record<string, string> } = {}) {
  const res = spawnSync(process.execPath, [CLI, ...args], {
    input: opts.input ?? '',
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, FALAJ_CONFIG: configFile, FALAJ_URL: server.url, FALAJ_TOKEN: '', ...opts.env },
  });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}
const json = (r: { stdout: string }) => JSON.parse(r.stdout) as Record<string, unknown>;

beforeAll(async () => {
  sb = await createSandbox('sqlite');
  configFile = path.join(sb.dataDir, 'cli-config.json');
  server = await startServerProcess({ dataDir: sb.dataDir });
});
afterAll(async () => {
  server?.kill('SIGKILL');
  await server?.exited;
  await sb?.dispose();
});

describe('falaj CLI against a real server', () => {
  it('logs in with the password on stdin and keeps the session in a 0600 file', () => {
    const r = falaj(['login', '-u', 'admin', '--json'], { input: 'e2e-admin-password\n' });
    expect(r.code, r.stderr).toBe(0);
    expect(json(r)).toMatchObject({ url: server.url, mfaEnrollmentRequired: false });
    const saved = JSON.parse(readFileSync(configFile, 'utf8')) as { token: string; url: string };
    expect(saved.token).toMatch(/^falajs_/);
    expect(statSync(configFile).mode & 0o777).toBe(0o600);
  });

  it('a wrong password exits 1 with the stable code', () => {
    const other = path.join(sb.dataDir, 'other.json');
    const r = falaj(['login', '-u', 'admin'], { input: 'nope\n', env: { FALAJ_CONFIG: other } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error FALAJ_INVALID_CREDENTIALS');
    const j = falaj(['login', '-u', 'admin', '--json'], { input: 'nope\n', env: { FALAJ_CONFIG: other } });
    expect(json(j)).toMatchObject({ error: { code: 'FALAJ_INVALID_CREDENTIALS' } });
  });

  it('creates a project, a user and a membership; lists them as tables and as JSON', () => {
    expect(falaj(['projects', 'create', 'fraud', '-d', 'card fraud']).code).toBe(0);
    expect(falaj(['users', 'create', 'alice'], { input: 'alice-password-123\n' }).code).toBe(0);
    expect(falaj(['projects', 'members', 'set', 'fraud', 'alice', 'editor']).code).toBe(0);
    const table = falaj(['projects', 'list']);
    expect(table.stdout).toMatch(/^NAME\s+ROLE\s+DESCRIPTION/);
    expect(table.stdout).toContain('card fraud');
    const members = JSON.parse(falaj(['projects', 'members', 'list', 'fraud', '--json']).stdout) as {
      username: string;
    }[];
    expect(members).toEqual([expect.objectContaining({ username: 'alice', role: 'editor' })]);
    const users = JSON.parse(falaj(['users', 'list', '--json']).stdout) as { username: string }[];
    expect(users.map((u) => u.username)).toEqual(['admin', 'alice']);
  });

  it('mints a project token that works through FALAJ_TOKEN and only for its project', () => {
    const created = falaj(['tokens', 'create', 'fraud', '--name', 'ci', '--role', 'viewer', '--json']);
    expect(created.code, created.stderr).toBe(0);
    const token = String(json(created).token);
    expect(token).toMatch(/^falaj_/);
    const viaToken = falaj(['projects', 'list', '--json'], { env: { FALAJ_TOKEN: token } });
    expect((JSON.parse(viaToken.stdout) as { name: string }[]).map((p) => p.name)).toEqual(['fraud']);
    const denied = falaj(['users', 'list'], { env: { FALAJ_TOKEN: token } });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('FALAJ_FORBIDDEN');
  });

  it('mfa enroll asks for the password again (on stdin when piped)', () => {
    const asAlice = { env: { FALAJ_CONFIG: path.join(sb.dataDir, 'alice.json') } };
    expect(falaj(['login', '-u', 'alice'], { input: 'alice-password-123\n', ...asAlice }).code).toBe(0);
    const wrong = falaj(['mfa', 'enroll', '--json'], { input: 'not-her-password\n', ...asAlice });
    expect(wrong.code).toBe(1);
    expect(json(wrong)).toMatchObject({ error: { code: 'FALAJ_INVALID_CREDENTIALS' } });
    const r = falaj(['mfa', 'enroll', '--json'], { input: 'alice-password-123\n', ...asAlice });
    expect(r.code, r.stderr).toBe(0);
    expect(String(json(r).otpauthUri)).toMatch(/^otpauth:\/\/totp\/Falaj:alice\?/);
  });

  it('whoami, then logout forgets the token', () => {
    expect(json(falaj(['whoami', '--json']))).toMatchObject({
      user: { username: 'admin', owner: true },
      kind: 'session',
    });
    expect(falaj(['logout']).code).toBe(0);
    const after = falaj(['whoami']);
    expect(after.code).toBe(1);
    expect(after.stderr).toContain('FALAJ_UNAUTHENTICATED');
  });

  it('reports an unreachable server clearly', () => {
    const r = falaj(['projects', 'list'], { env: { FALAJ_URL: 'http://127.0.0.1:1' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('FALAJ_UNREACHABLE');
  });
});
