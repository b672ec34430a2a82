// The job sandbox beyond the executor conformance case: the user a job runs as, its
// capabilities, the environment allow-list, GPU device nodes, a queue without network, and a
// machine that cannot sandbox. Real bubblewrap on this machine (scripts/ensure-sandbox.sh).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { isFalajError } from '../../../src/core/errors.js';
import { LocalExecutor } from '../../../src/jobs/executors/local.js';
import { attemptFiles } from '../../../src/jobs/executors/local-attempt-files.js';
import { bwrapArgs, type SandboxPolicy } from '../../../src/jobs/sandbox/job-sandbox.js';
import { JOB_USER, resolveSandbox } from '../../../src/jobs/sandbox/sandbox-setup.js';
import type { LaunchRequest } from '../../../src/jobs/types.js';
import { conformanceWorkRoot } from '../executors/conformance.js';

const MiB = 1024 * 1024;
const isRoot = process.getuid?.() === 0;
const dataDir = conformanceWorkRoot('falaj-sandbox-');
const sandbox = resolveSandbox({ hidden: [dataDir] });
let counter = 0;

function request(command: string[], over: Partial<LaunchRequest> = {}): LaunchRequest {
  const jobId = `sbx-${process.pid}-${++counter}`;
  return {
    jobId,
    attempt: 1,
    spec: { queue: 'default', resources: { cpu: 1, memory: 64 * MiB, gpu: 0 }, command },
    placements: [{ nodeId: 'n', cpu: 1, memory: 64 * MiB, gpus: [] }],
    env: { FALAJ_TOKEN: 'falaj_run_token', FALAJ_URL: 'http://127.0.0.1:1' },
    workDir: path.join(dataDir, 'jobs', jobId, '1'),
    ...over,
  };
}

async function run(executor: LocalExecutor, req: LaunchRequest): Promise<{ state: string; log: string }> {
  const { externalId } = await executor.start(req);
  const deadline = Date.now() + 45_000;
  for (;;) {
    const s = await executor.status(externalId);
    if (s.state !== 'running' && s.state !== 'pending') {
      return { state: s.state, log: readFileSync(attemptFiles(req.workDir).log, 'utf8') };
    }
    if (Date.now() > deadline) throw new Error(`attempt still ${s.state}`);
    await sleep(50);
  }
}

const executor = (policy: SandboxPolicy = sandbox) =>
  new LocalExecutor({ stateDir: path.join(dataDir, 'state'), timeoutGraceSeconds: 1, sandbox: policy });

describe('job sandbox', () => {
  it.skipIf(!isRoot)(
    'runs a root server’s jobs as falaj-job, with no capabilities and no new privileges',
    async () => {
      const { state, log } = await run(
        executor(),
        request([
          'sh',
          '-c',
          'id -un; grep -E "^(CapEff|CapBnd|NoNewPrivs):" /proc/self/status; touch mine && echo wrote',
        ]),
      );
      expect(state).toBe('succeeded');
      expect(log).toBe(
        `${JOB_USER}\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000000\nNoNewPrivs:\t1\nwrote\n`,
      );
    },
  );

  it('passes only the allow-listed environment; HOME and TMPDIR are inside the sandbox', async () => {
    const server = {
      FALAJ_MASTER_KEY: 'm',
      FALAJ_DATABASE_URL: 'postgres://x',
      FALAJ_ADMIN_PASSWORD: 'p',
      PGPASSWORD: 'pg',
      AWS_SECRET_ACCESS_KEY: 'aws',
      DATABASE_URL: 'postgres://y',
      LD_PRELOAD: '/evil.so',
      LANG: 'C.UTF-8',
    };
    const saved = { ...process.env };
    Object.assign(process.env, server);
    try {
      const req = request(['sh', '-c', 'env | sort'], { env: { FALAJ_TOKEN: 'tok', MY_SECRET: 's' } });
      const { state, log } = await run(executor(), { ...req, spec: { ...req.spec, env: { SPEC_VAR: 'v' } } });
      expect(state).toBe('succeeded');
      const names = log
        .trim()
        .split('\n')
        .map((l) => l.split('=')[0])
        // Set by the shell itself.
        .filter((n) => !['PWD', 'OLDPWD', 'SHLVL', '_'].includes(n as string));
      expect(names.sort()).toEqual(
        [
          'CUDA_VISIBLE_DEVICES',
          'FALAJ_TOKEN',
          'HOME',
          'LANG',
          'MY_SECRET',
          'PATH',
          'SPEC_VAR',
          'TMPDIR',
        ].sort(),
      );
      expect(log).toContain(`HOME=${req.workDir}\n`);
      expect(log).toContain('TMPDIR=/tmp\n');
    } finally {
      process.env = saved;
    }
  });

  it.skipIf(!isRoot)(
    'binds the device nodes of the granted GPUs and the driver’s shared ones, and no others',
    async () => {
      // Stand-in device nodes (the character device of /dev/null under NVIDIA's names): the test
      // proves which nodes are bound and usable; only a real GPU proves CUDA works through them.
      const devices = path.join(conformanceWorkRoot('falaj-fake-dev-'));
      for (const name of ['nvidia0', 'nvidia1', 'nvidia2', 'nvidia3', 'nvidiactl', 'nvidia-uvm']) {
        execFileSync('mknod', ['-m', '666', path.join(devices, name), 'c', '1', '3']);
      }
      const policy = { ...sandbox, deviceDir: devices };
      const list = [
        'sh',
        '-c',
        'ls /dev | grep nvidia | sort | tr "\\n" " "; echo; echo x > /dev/nvidia2 && echo usable',
      ];
      const gpuJob = request(list, {
        placements: [{ nodeId: 'n', cpu: 1, memory: 64 * MiB, gpus: [2, 3] }],
      });
      const gpu = await run(executor(policy), gpuJob);
      expect(gpu.state).toBe('succeeded');
      expect(gpu.log).toBe('nvidia-uvm nvidia2 nvidia3 nvidiactl \nusable\n');
      const cpu = await run(executor(policy), request(['sh', '-c', 'ls /dev | grep -c nvidia || true']));
      expect(cpu.log).toBe('0\n');
    },
  );

  describe('network', () => {
    let server: Server;
    let port = 0;
    afterAll(() => server?.close());
    const probe = () => [
      process.execPath,
      '-e',
      `require('net').connect(${port}, '127.0.0.1').on('connect', () => { console.log('reached'); process.exit(0) }).on('error', (e) => { console.log('unreachable'); process.exit(0) })`,
    ];
    it('reaches the host by default, and nothing with a queue’s network: none', async () => {
      server = createServer((s) => s.end());
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      port = (server.address() as { port: number }).port;
      expect((await run(executor(), request(probe()))).log).toBe('reached\n');
      expect((await run(executor(), request(probe(), { network: 'none' }))).log).toBe('unreachable\n');
    });
  });

  it('refuses a queue without network when jobs run unsandboxed, rather than run it with one', async () => {
    const unsandboxed = new LocalExecutor({ stateDir: path.join(dataDir, 'state') });
    await expect(unsandboxed.start(request(['true'], { network: 'none' }))).rejects.toMatchObject({
      code: 'FALAJ_CONFIG',
    });
  });

  it('hides the data directory even where a read-only folder holds it', () => {
    const install = conformanceWorkRoot('falaj-install-');
    const inner = path.join(install, '.falaj');
    mkdirSync(inner);
    const args = bwrapArgs(
      { bwrap: 'bwrap', readOnly: [install], hidden: [inner] },
      { workDir: path.join(inner, 'jobs', 'j', '1'), cwd: '/', gpus: [], network: true },
    );
    const at = (flag: string, p: string) => args.findIndex((a, i) => a === flag && args[i + 1] === p);
    expect(at('--ro-bind', install)).toBeGreaterThan(-1);
    // Masked after the read-only bind, and the attempt's own folder bound after the mask.
    expect(args[at('--ro-bind', install) + 1]).toBe(install);
    const tmpfs = args.findIndex((a, i) => a === '--tmpfs' && args[i + 1] === inner);
    expect(tmpfs).toBeGreaterThan(at('--ro-bind', install));
    expect(at('--bind', path.join(inner, 'jobs', 'j', '1'))).toBeGreaterThan(tmpfs);
  });

  it('stops a server or agent that cannot sandbox, saying what to install', () => {
    try {
      resolveSandbox({ hidden: [dataDir], bwrap: '/nonexistent/bwrap' });
      expect.unreachable();
    } catch (err) {
      expect(isFalajError(err) && err.code).toBe('FALAJ_CONFIG');
      expect((err as Error).message).toMatch(/bubblewrap.*--unsafe-unsandboxed-jobs/s);
    }
  });
});
