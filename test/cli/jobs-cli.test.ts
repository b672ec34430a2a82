// `falaj jobs` and `falaj queues` against a real server whose scheduler loop runs the jobs on
// this machine (the local executor), as a new user would try them.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliSession, startCliSession } from '../support/cli-session.js';
import { CLI } from '../support/server-process.js';

let cli: CliSession;
const falaj = (args: string[], input = '') => cli.falaj(args, input);
const ok = (args: string[]) => cli.ok(args);
const until = (id: string, states: string[]) => cli.untilJob(id, states);

beforeAll(async () => {
  cli = await startCliSession();
});
afterAll(() => cli?.dispose());

describe('falaj jobs', () => {
  it('submits a command, which logs to its own tracking run through the server it was given', async () => {
    // The job's process gets FALAJ_URL/FALAJ_TOKEN/FALAJ_RUN_ID: it logs a metric with the CLI.
    // Another run of the project: the job's token (scoped to its own run) may not write to it.
    ok(['experiments', 'create', 'other']);
    const other = ok(['runs', 'create', 'other']).trim();
    // The script travels as the job's code snapshot: its sandbox shows it nothing of this machine's files.
    const code = mkdtempSync(path.join(os.tmpdir(), 'falaj-job-code-'));
    const script = path.join(code, 'job.mjs');
    writeFileSync(
      script,
      `import { spawnSync } from 'node:child_process';
const log = (run) => spawnSync(process.execPath, [${JSON.stringify(CLI)}, 'runs', 'log', run, '--metric', 'loss=0.25'], { encoding: 'utf8' });
const r = log(process.env.FALAJ_RUN_ID);
console.log('logged', r.status, r.stderr);
const o = log(${JSON.stringify(other)});
console.log('other', o.status, o.stderr.trim());
process.exit(r.status ?? 1);`,
    );
    const job = ok(['jobs', 'submit', '--code', code, '--', process.execPath, 'job.mjs']).trim();
    const done = await until(job, ['succeeded', 'failed']);
    expect(done.state, ok(['jobs', 'logs', job])).toBe('succeeded');
    const logs = ok(['jobs', 'logs', job]);
    expect(logs).toContain('logged 0');
    expect(logs).toMatch(/other 1 .*(PERMISSION_DENIED|FALAJ_FORBIDDEN)/);
    expect(JSON.parse(ok(['runs', 'show', other, '--json'])).data.metrics ?? []).toEqual([]);
    const run = JSON.parse(ok(['runs', 'show', done.runId, '--json']));
    expect(run.info.status).toBe('FINISHED');
    expect(run.data.metrics).toContainEqual(expect.objectContaining({ key: 'loss', value: 0.25 }));
  });

  it('submits a YAML spec, lists jobs, cancels a sleeper, follows logs to the end', async () => {
    const spec = path.join(cli.sb.dataDir, 'sleep.yaml');
    writeFileSync(
      spec,
      `name: sleeper\ncommand: [${JSON.stringify(process.execPath)}, "-e", "console.log('started'); setInterval(() => {}, 1000)"]\nresources:\n  cpu: 0.5\n  memory: 64Mi\n`,
    );
    const id = ok(['jobs', 'submit', spec]).trim();
    await until(id, ['running']);
    const list = JSON.parse(ok(['jobs', 'list', '--json'])) as { id: string; name: string }[];
    expect(list.find((j) => j.id === id)?.name).toBe('sleeper');
    ok(['jobs', 'cancel', id]);
    const ended = await until(id, ['cancelled', 'failed']);
    expect(ended.state).toBe('cancelled');
    expect(ok(['jobs', 'logs', id, '--follow'])).toContain('started');
    const bad = falaj(['jobs', 'submit', '--json', '--cpu', '-2', '--', 'true']);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout).error.code).toBe('FALAJ_INVALID_ARGUMENT');
  });

  it('runs a job in a snapshot of a local folder (--code)', async () => {
    const dir = path.join(cli.sb.dataDir, 'project-code');
    mkdirSync(path.join(dir, 'lib'), { recursive: true });
    writeFileSync(path.join(dir, 'main.js'), "console.log('from snapshot', require('./lib/answer.js'))");
    writeFileSync(path.join(dir, 'lib', 'answer.js'), 'module.exports = 42;');
    const id = ok(['jobs', 'submit', '--code', dir, '--', process.execPath, 'main.js']).trim();
    // The folder changes after submit: the job still runs what was snapshotted.
    writeFileSync(path.join(dir, 'lib', 'answer.js'), 'module.exports = 0;');
    const done = await until(id, ['succeeded', 'failed']);
    expect(done.state, ok(['jobs', 'logs', id])).toBe('succeeded');
    expect(ok(['jobs', 'logs', id])).toContain('from snapshot 42');
    expect((done.spec as { code: { artifact: string } }).code.artifact).toMatch(
      /^jobs\/code\/[0-9a-f]{24}\.tar$/,
    );
  });

  it('sets a secret from stdin and lists names only', () => {
    expect(falaj(['secrets', 'set', 'api-key'], 'abc-123\n').code).toBe(0);
    const list = JSON.parse(ok(['secrets', 'list', '--json'])) as { name: string }[];
    expect(list.map((s) => s.name)).toEqual(['api-key']);
    expect(JSON.stringify(list)).not.toContain('abc-123');
    expect(falaj(['secrets', 'set', 'empty'], '').code).toBe(1);
    ok(['secrets', 'delete', 'api-key']);
    expect(JSON.parse(ok(['secrets', 'list', '--json']))).toEqual([]);
  });

  it('sets and lists queues (owner)', () => {
    const cfg = path.join(cli.sb.dataDir, 'gpu.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        projects: [{ project: 'ml', weight: 2, cpu: { nominal: 4 }, gpus: { h100: { nominal: 8 } } }],
      }),
    );
    ok(['queues', 'set', 'gpu', cfg]);
    const queues = JSON.parse(ok(['queues', 'list', '--json'])) as { name: string }[];
    expect(queues.map((q) => q.name)).toContain('gpu');
  });
});
