// The agent executor end to end: a real server (`--executor agent`, a short agent lease) and
// real `falaj agent` processes. A job runs on an agent with its logs and tracking run; an agent
// killed with -9 mid-job (its job's processes with it, as when a machine dies) has the job
// retried on another agent once its lease lapsed, resuming from the job's checkpoint.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliSession, startCliSession } from '../support/cli-session.js';
import { fakeNvidiaSmi } from '../support/fake-nvidia-smi.js';
import { hostPidOf } from '../support/host-pid.js';
import { CLI, loginAdmin } from '../support/server-process.js';

let cli: CliSession;
let ownerToken: string;
let agentToken: string;
const agents: ChildProcess[] = [];
const falaj = (args: string[], input = '') => cli.falaj(args, input);
const ok = (args: string[], input = '') => cli.ok(args, input);
const until = (id: string, states: string[]) => cli.untilJob(id, states, 90);
async function poll<T>(what: string, fn: () => T | undefined, ms = 90_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
/** Starts `falaj agent` and waits for it to have registered. */
async function startAgent(
  name: string,
  env: Record<string, string> = {},
): Promise<{ proc: ChildProcess; id: string }> {
  const proc = spawn(
    process.execPath,
    [
      CLI,
      'agent',
      '--url',
      cli.server.url,
      '--token',
      agentToken,
      '--name',
      name,
      '--work-dir',
      path.join(cli.sb.dataDir, name),
      '--cpu',
      '2',
      '--memory',
      '2Gi',
      // Files the test and the jobs share (scripts, gates, a checkpoint both agents see).
      '--job-shared-paths',
      cli.scratch,
    ],
    { env: { ...process.env, FALAJ_TOKEN: '', FALAJ_URL: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  agents.push(proc);
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const id = await new Promise<string>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      if (line.includes('falaj agent registered')) resolve(JSON.parse(line).id);
    });
    proc.on('exit', (code) => reject(new Error(`agent exited (${code}) before registering: ${err}`)));
  });
  return { proc, id };
}

beforeAll(async () => {
  cli = await startCliSession({
    serverArgs: ['--executor', 'agent'],
    serverEnv: { FALAJ_AGENT_LEASE_SECONDS: '6' },
  });
  ownerToken = await loginAdmin(cli.server.url);
  // What an operator does once per pool of machines: the agents run with this, not a session.
  agentToken = ok(['agents', 'tokens', 'create', 'e2e-pool']).trim();
}, 60_000);
afterAll(async () => {
  for (const a of agents) a.kill('SIGKILL');
  await cli?.dispose();
});

describe('falaj agent', () => {
  it('refuses a project viewer who tries to register an agent', async () => {
    ok(['users', 'create', 'vera'], 'vera-password-123\n');
    ok(['projects', 'members', 'set', 'ml', 'vera', 'viewer']);
    const login = await fetch(`${cli.server.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'vera', password: 'vera-password-123' }),
    });
    const { token } = (await login.json()) as { token: string };
    const res = await fetch(`${cli.server.url}/api/v1/agents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ name: 'rogue', capacity: { cpu: 64, memory: 1e12, gpus: {} } }),
    });
    expect(res.status).toBe(403);
  });

  it('refuses to start with a token the server does not know', () => {
    const r = falaj([
      'agent',
      '--url',
      cli.server.url,
      '--token',
      'falajagt_not-a-real-token',
      '--name',
      'x',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/agent token is not valid/);
  });

  it('runs a job on an agent: logs, tracking run, and the log kept as an artifact', async () => {
    const agent = await startAgent('agent-one');
    const listed = JSON.parse(ok(['agents', 'list', '--json'])) as {
      id: string;
      state: string;
      name: string;
    }[];
    expect(listed).toContainEqual(
      expect.objectContaining({ id: agent.id, name: 'agent-one', state: 'live' }),
    );
    expect(ok(['agents', 'list'])).toMatch(/agent-one\s+live\s+2\s+2\.0Gi/);
    const script = path.join(cli.scratch, 'job.mjs');
    writeFileSync(
      script,
      `import { spawnSync } from 'node:child_process';
const r = spawnSync(process.execPath, [${JSON.stringify(CLI)}, 'runs', 'log', process.env.FALAJ_RUN_ID, '--metric', 'loss=0.5'], { encoding: 'utf8' });
console.log('logged', r.status, r.stderr, 'cwd', process.cwd());
process.exit(r.status ?? 1);`,
    );
    const id = ok([
      'jobs',
      'submit',
      '--cpu',
      '1',
      '--memory',
      '64Mi',
      '--',
      process.execPath,
      script,
    ]).trim();
    const done = await until(id, ['succeeded', 'failed', 'cancelled']);
    const logs = ok(['jobs', 'logs', id]);
    expect(done.state, logs).toBe('succeeded');
    expect(done.executor).toBe('agent');
    expect(logs).toContain('logged 0');
    // It ran under the agent's work dir, not the server's.
    expect(logs).toContain(path.join(cli.sb.dataDir, 'agent-one', 'attempts', id, '1'));
    const run = JSON.parse(ok(['runs', 'show', done.runId, '--json']));
    expect(run.info.status).toBe('FINISHED');
    expect(run.data.metrics).toContainEqual(expect.objectContaining({ key: 'loss', value: 0.5 }));
    const artifact = await fetch(
      `${cli.server.url}/api/v1/projects/ml/artifacts/files/jobs/${id}/1/log.txt`,
      {
        headers: { authorization: `Bearer ${ownerToken}` },
      },
    );
    expect(artifact.status).toBe(200);
    expect(await artifact.text()).toBe(logs);

    // A code snapshot (--code): the agent downloads it and runs the job inside it.
    const code = path.join(cli.sb.dataDir, 'agent-code');
    mkdirSync(code, { recursive: true });
    writeFileSync(
      path.join(code, 'main.js'),
      "console.log('snapshot on agent', require('fs').existsSync('main.js'))",
    );
    const snap = ok(['jobs', 'submit', '--code', code, '--', process.execPath, 'main.js']).trim();
    const ran = await until(snap, ['succeeded', 'failed', 'cancelled']);
    expect(ran.state, ok(['jobs', 'logs', snap])).toBe('succeeded');
    expect(ok(['jobs', 'logs', snap])).toContain('snapshot on agent true');

    // `jobs logs -f` follows a job on an agent live: the job waits for a file that the test
    // writes only once the follower has shown its first line.
    const gate = path.join(cli.scratch, 'live-gate');
    const live = ok([
      'jobs',
      'submit',
      '--',
      process.execPath,
      '-e',
      `const fs=require('fs');console.log('waiting for the gate');const t=setInterval(()=>{if(fs.existsSync(${JSON.stringify(gate)})){clearInterval(t);console.log('through');}},100);`,
    ]).trim();
    const follower = spawn(process.execPath, [CLI, 'jobs', 'logs', '-f', live], {
      env: { ...process.env, FALAJ_TOKEN: '', FALAJ_RUN_ID: '', ...cli.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let followed = '';
    follower.stdout?.on('data', (d: Buffer) => {
      followed += d.toString();
      if (followed.includes('waiting for the gate')) writeFileSync(gate, '');
    });
    const followerCode = await new Promise<number | null>((r) => follower.on('exit', r));
    expect(followerCode).toBe(0);
    expect(followed).toBe('waiting for the gate\nthrough\n');
    expect((await until(live, ['succeeded', 'failed'])).state).toBe('succeeded');

    // A clean stop: SIGTERM drains (the server stops placing work on it), then it exits.
    const gone = new Promise((r) => agent.proc.once('exit', r));
    agent.proc.kill('SIGTERM');
    await gone;
  }, 150_000);

  it('places a GPU job on the agent that has GPUs, with CUDA_VISIBLE_DEVICES for its GPU', async () => {
    // The agent machine's nvidia-smi is simulated (two H100s); the processes are real.
    const smi = fakeNvidiaSmi(cli.sb.dataDir);
    const gpuAgent = await startAgent('agent-gpu', { FALAJ_NVIDIA_SMI: smi });
    const listed = JSON.parse(ok(['agents', 'list', '--json'])) as {
      id: string;
      capacity: { gpus: object };
    }[];
    expect(listed.find((a) => a.id === gpuAgent.id)?.capacity.gpus).toEqual({ h100: [0, 1] });
    const id = ok([
      'jobs',
      'submit',
      '--cpu',
      '0.5',
      '--memory',
      '64Mi',
      '--gpu',
      '1',
      '--',
      process.execPath,
      '-e',
      "console.log('gpus=' + process.env.CUDA_VISIBLE_DEVICES)",
    ]).trim();
    const done = await until(id, ['succeeded', 'failed', 'cancelled']);
    expect(done.state, done.reason).toBe('succeeded');
    expect(ok(['jobs', 'logs', id])).toMatch(/^gpus=[01]\n$/);
    const gone = new Promise((r) => gpuAgent.proc.once('exit', r));
    gpuAgent.proc.kill('SIGTERM');
    await gone;
  }, 120_000);

  it('retries the job of an agent killed with -9 on another agent, from its checkpoint', async () => {
    const first = await startAgent('agent-doomed');
    const checkpoint = path.join(cli.scratch, 'shared-checkpoint.txt');
    const spec = path.join(cli.sb.dataDir, 'resumable.yaml');
    // 25 steps of 300 ms; each step is checkpointed to a directory both agents share.
    const job = `const fs=require('fs');const ck=${JSON.stringify(checkpoint)};
let step=fs.existsSync(ck)?Number(fs.readFileSync(ck,'utf8')):0;
console.log('attempt '+process.env.FALAJ_ATTEMPT+' starts at step '+step);
const t=setInterval(()=>{step++;fs.writeFileSync(ck,String(step));if(step>=25){clearInterval(t);console.log('done at step '+step);}},300);`;
    writeFileSync(
      spec,
      `name: resumable\ncommand: [${JSON.stringify(process.execPath)}, "-e", ${JSON.stringify(job)}]\nresources: {cpu: 1, memory: 64Mi}\nretry: {maxAttempts: 2, backoffSeconds: 0}\n`,
    );
    const id = ok(['jobs', 'submit', spec]).trim();
    await until(id, ['running']);
    await poll('a few checkpointed steps', () =>
      existsSync(checkpoint) && Number(readFileSync(checkpoint, 'utf8')) >= 3 ? true : undefined,
    );
    // The spare machine is up before the first dies: were none live when the job is requeued,
    // the scheduler would fail it as one no node can ever run.
    await startAgent('agent-spare');
    // The machine dies: the agent and the job's whole process group, without a word.
    // Found by its command line: inside its sandbox the job has pids of its own namespace.
    const pid = await hostPidOf((argv) => argv[0] === process.execPath && argv[2] === job);
    const pgid = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[2]);
    // The agent is gone before its job dies: otherwise it could still see the job end and
    // report it failed, which is not what a dead machine does.
    const agentGone = new Promise((r) => first.proc.once('exit', r));
    first.proc.kill('SIGKILL');
    await agentGone;
    process.kill(-pgid, 'SIGKILL');
    const reached = Number(readFileSync(checkpoint, 'utf8'));

    const done = await until(id, ['succeeded', 'failed', 'cancelled']);
    const logs = ok(['jobs', 'logs', id]);
    expect(done.state, `${done.reason}\n${JSON.stringify(done.events)}\n${logs}`).toBe('succeeded');
    expect(done.attempt).toBe(2);
    const resumedAt = Number(/attempt 2 starts at step (\d+)/.exec(logs)?.[1]);
    expect(resumedAt).toBeGreaterThanOrEqual(reached);
    expect(resumedAt).toBeGreaterThan(0);
    expect(logs).toContain('done at step 25');
    const events = (done.events ?? []) as { reason: string | null; to: string }[];
    expect(
      events.some((e) => e.to === 'queued' && /agent agent-doomed stopped heartbeating/.test(e.reason ?? '')),
    ).toBe(true);
  }, 180_000);
});
