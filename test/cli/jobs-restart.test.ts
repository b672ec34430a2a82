// A server killed (-9) while local jobs run: after a restart over the same data, a job whose
// process lived on is found again and ends as it really did; one whose process died meanwhile
// is not left "running" forever. Nothing about it depends on timing but generous deadlines.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandbox, type Sandbox } from '../support/dialects.js';
import { CLI, type ServerProcess, startServerProcess } from '../support/server-process.js';

let sb: Sandbox;
let server: ServerProcess;
let env: Record<string, string>;

function falaj(args: string[], input = '') {
  const res = spawnSync(process.execPath, [CLI, ...args], {
    input,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, FALAJ_TOKEN: '', FALAJ_RUN_ID: '', ...env },
  });
  expect(res.status, `${args.join(' ')}: ${res.stderr}${res.stdout}`).toBe(0);
  return res.stdout;
}
async function until(id: string, states: string[]) {
  const deadline = Date.now() + 45_000;
  for (;;) {
    const job = JSON.parse(falaj(['jobs', 'show', id, '--json']));
    if (states.includes(job.state)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.state} (${job.reason})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  sb = await createSandbox('sqlite');
  server = await startServerProcess({ dataDir: sb.dataDir });
  env = { FALAJ_CONFIG: path.join(sb.dataDir, 'cli.json'), FALAJ_URL: server.url, FALAJ_PROJECT: 'ml' };
  falaj(['login', '-u', 'admin'], 'e2e-admin-password\n');
  falaj(['projects', 'create', 'ml']);
});
afterAll(async () => {
  server?.kill('SIGKILL');
  await server?.exited;
  await sb?.dispose();
});

describe('a server restart while local jobs run', () => {
  it('finds the surviving job again and records how each ended', async () => {
    const marker = path.join(sb.dataDir, 'release');
    // Ends once the test creates the marker file, so it surely outlives the server.
    const survivor = falaj([
      'jobs',
      'submit',
      '--',
      process.execPath,
      '-e',
      `const fs=require('fs');console.log('up');setInterval(()=>{if(fs.existsSync(${JSON.stringify(marker)})){console.log('released');process.exit(0)}},100)`,
    ]).trim();
    const doomed = falaj([
      'jobs',
      'submit',
      '--',
      process.execPath,
      '-e',
      'console.log(process.pid);setInterval(()=>{},1000)',
    ]).trim();
    await until(survivor, ['running']);
    await until(doomed, ['running']);
    let pid = 0;
    for (let i = 0; i < 200 && !pid; i++) {
      pid = Number.parseInt(falaj(['jobs', 'logs', doomed]).trim(), 10) || 0;
      if (!pid) await new Promise((r) => setTimeout(r, 100));
    }
    expect(pid).toBeGreaterThan(0);

    server.kill('SIGKILL');
    await server.exited;
    // While no server runs: the doomed job's process dies (as on a machine reboot).
    process.kill(pid, 'SIGKILL');
    spawnSync('touch', [marker]);

    server = await startServerProcess({ dataDir: sb.dataDir });
    env.FALAJ_URL = server.url;
    const s = await until(survivor, ['succeeded', 'failed', 'cancelled']);
    expect(s.state, s.reason).toBe('succeeded');
    expect(falaj(['jobs', 'logs', survivor])).toContain('released');
    const d = await until(doomed, ['succeeded', 'failed', 'cancelled']);
    expect(d.state).toBe('failed');
    expect(String(d.reason)).toMatch(/SIGKILL|signal|lost/i);
  });
});
