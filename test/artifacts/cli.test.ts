// `falaj artifacts ...` against a real server, and `falaj keys rotate|list` on its data directory
// while it runs. Starts the built CLI: run `npm run build` first.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandbox, DIALECTS, type Sandbox } from '../support/dialects.js';
import { CLI, loginAdmin, type ServerProcess, startServerProcess } from '../support/server-process.js';
import { sha256 } from './helpers.js';

interface Run {
  code: number;
  stdout: Buffer;
  stderr: string;
}

function falaj(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...env } },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr: stderr.toString() });
      },
    );
  });
}
// biome-ignore lint/suspicious/noExplicitAny: parsed CLI output; the assertions check its shape
const json = (r: Run) => JSON.parse(r.stdout.toString()) as Record<string, unknown> & Record<string, any>;

describe.each(DIALECTS)('artifact and key commands on %s', (dialect) => {
  let sandbox: Sandbox;
  let server: ServerProcess;
  let work: string;
  let remote: string[];
  let offline: string[];
  let env: Record<string, string>;

  beforeAll(async () => {
    sandbox = await createSandbox(dialect);
    server = await startServerProcess({ dataDir: sandbox.dataDir, databaseUrl: sandbox.databaseUrl });
    const token = await loginAdmin(server.url);
    await fetch(`${server.url}/api/v1/projects`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'cli' }),
    });
    work = mkdtempSync(path.join(os.tmpdir(), 'falaj-cli-'));
    // No login file of the person running the tests is read or written.
    env = { FALAJ_CONFIG: path.join(work, 'config.json'), FALAJ_URL: '', FALAJ_TOKEN: '' };
    remote = ['--url', server.url, '--token', token, '--json'];
    offline = [
      '--data-dir',
      sandbox.dataDir,
      ...(sandbox.databaseUrl ? ['--database-url', sandbox.databaseUrl] : []),
      '--json',
    ];
  });
  afterAll(async () => {
    server?.kill('SIGTERM');
    await server?.exited;
    await sandbox?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('put, list, get (to a file and to stdout) and rm', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const file = path.join(work, 'weights.bin');
    writeFileSync(file, data);
    const put = await falaj(['artifacts', 'put', 'cli', file, ...remote], env);
    expect(put.code, put.stderr).toBe(0);
    expect(json(put)).toEqual({ path: 'weights.bin', digest: sha256(data), size: data.length });
    const nested = await falaj(
      ['artifacts', 'put', 'cli', file, '--path', 'models/v1/weights.bin', ...remote],
      env,
    );
    expect(json(nested).path).toBe('models/v1/weights.bin');

    const list = await falaj(['artifacts', 'list', 'cli', ...remote], env);
    expect((JSON.parse(list.stdout.toString()) as { path: string }[]).map((a) => a.path)).toEqual([
      'models/v1/weights.bin',
      'weights.bin',
    ]);
    const prefixed = await falaj(['artifacts', 'list', 'cli', '--prefix', 'models/', ...remote], env);
    expect(JSON.parse(prefixed.stdout.toString())).toHaveLength(1);

    const out = path.join(work, 'back.bin');
    const get = await falaj(['artifacts', 'get', 'cli', 'models/v1/weights.bin', '-o', out, ...remote], env);
    expect(get.code, get.stderr).toBe(0);
    expect(json(get)).toMatchObject({ digest: sha256(data), size: data.length, file: out });
    expect(sha256(readFileSync(out))).toBe(sha256(data));

    const toStdout = await falaj(
      ['artifacts', 'get', 'cli', 'weights.bin', '--url', server.url, '--token', remote[3]!],
      env,
    );
    expect(toStdout.code).toBe(0);
    expect(toStdout.stdout.equals(data)).toBe(true);

    const missing = await falaj(
      ['artifacts', 'get', 'cli', 'nope.bin', '-o', path.join(work, 'nope'), ...remote],
      env,
    );
    expect(missing.code).toBe(1);
    expect(json(missing).error.code).toBe('FALAJ_NOT_FOUND');
    const traversal = await falaj(['artifacts', 'put', 'cli', file, '--path', '../escape', ...remote], env);
    expect(traversal.code).toBe(1);
    expect(json(traversal).error.code).toBe('FALAJ_INVALID_PATH');

    const rm = await falaj(['artifacts', 'rm', 'cli', 'weights.bin', ...remote], env);
    expect(rm.code, rm.stderr).toBe(0);
  });

  it('a damaged blob is not kept by get: an integrity error and no output file', async () => {
    const data = randomBytes(5 * 1024 * 1024);
    const file = path.join(work, 'fragile.bin');
    writeFileSync(file, data);
    const put = json(await falaj(['artifacts', 'put', 'cli', file, ...remote], env));
    const dataFile = path.join(
      sandbox.dataDir,
      'artifacts',
      'blobs',
      put.digest.slice(0, 2),
      put.digest,
      'data',
    );
    const original = readFileSync(dataFile);
    const damaged = Buffer.from(original);
    damaged[damaged.length - 5000] = damaged[damaged.length - 5000]! ^ 1;
    writeFileSync(dataFile, damaged);
    try {
      const out = path.join(work, 'fragile-back.bin');
      const get = await falaj(['artifacts', 'get', 'cli', 'fragile.bin', '-o', out, ...remote], env);
      expect(get.code).toBe(1);
      expect(json(get).error.code).toBe('FALAJ_ARTIFACT_INTEGRITY');
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(work).filter((f) => f.includes('falaj-partial'))).toEqual([]);
    } finally {
      writeFileSync(dataFile, original);
    }
  });

  it('keys list and keys rotate work offline beside the running server', async () => {
    const before = await falaj(['keys', 'list', ...offline], env);
    expect(before.code, before.stderr).toBe(0);
    const versions = JSON.parse(before.stdout.toString()) as {
      version: number;
      current: boolean;
      artifacts: number;
    }[];
    expect(versions).toEqual([expect.objectContaining({ version: 1, current: true })]);
    expect(versions[0]!.artifacts).toBeGreaterThan(0);

    const rotate = await falaj(['keys', 'rotate', ...offline], env);
    expect(rotate.code, rotate.stderr).toBe(0);
    const report = json(rotate);
    expect(report).toMatchObject({ previousVersion: 1, version: 2 });
    expect(report.artifacts.rewrapped).toBe(versions[0]!.artifacts);
    expect(report.artifacts.failed).toEqual([]);

    // The running server meets version 2 in a sidecar, reloads its keyring, and serves on.
    const out = path.join(work, 'after-rotation.bin');
    const get = await falaj(['artifacts', 'get', 'cli', 'models/v1/weights.bin', '-o', out, ...remote], env);
    expect(get.code, get.stderr).toBe(0);
    const listed = await falaj(['keys', 'list', ...offline], env);
    expect(listed.code, `${listed.stdout}\n${listed.stderr}`).toBe(0);
    const after = JSON.parse(listed.stdout.toString()) as {
      version: number;
      current: boolean;
      artifacts: number;
    }[];
    expect(after.map((v) => [v.version, v.current, v.artifacts])).toEqual([
      [1, false, 0],
      [2, true, versions[0]!.artifacts],
    ]);

    const human = await falaj(
      [
        'keys',
        'rotate',
        '--data-dir',
        sandbox.dataDir,
        ...(sandbox.databaseUrl ? ['--database-url', sandbox.databaseUrl] : []),
      ],
      env,
    );
    expect(human.stdout.toString()).toMatch(/key version 3 is now current \(was 2\)/);

    const nowhere = await falaj(
      ['keys', 'rotate', '--data-dir', path.join(work, 'no-such-dir'), '--json'],
      env,
    );
    expect(nowhere.code).toBe(1);
    expect(json(nowhere).error.code).toBe('FALAJ_CONFIG');
    expect(existsSync(path.join(work, 'no-such-dir'))).toBe(false);
  });
});
