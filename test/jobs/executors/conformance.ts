// The one conformance suite every executor passes (DESIGN.md: one interface per backend kind,
// one suite). Each executor's test file calls `executorConformance(target)`; a backend that
// cannot run a case names it in `target.skip` with the reason, and the case shows as skipped
// with that reason. Cases poll with generous deadlines and never assume how fast a backend is.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { isFalajError } from '../../../src/core/errors.js';
import type { AttemptStatus, Executor, JobSpec, LaunchRequest } from '../../../src/jobs/types.js';
import { hostPidOf } from '../../support/host-pid.js';

export const CONFORMANCE_CASES = [
  'succeeds',
  'exit-code',
  'command-not-found',
  'argv-verbatim',
  'workdir',
  'env',
  'server-env-not-leaked',
  'cuda-visible-devices',
  'logs-interleaved',
  'logs-follow-live',
  'logs-flood',
  'cancel',
  'cancel-ignoring-sigterm',
  'cancel-idempotent',
  'unknown-id',
  'discover',
  'distributed-one-node',
  'max-runtime',
  'new-instance',
  'sandbox',
] as const;
export type ConformanceCase = (typeof CONFORMANCE_CASES)[number];

export interface ConformanceTarget {
  readonly name: string;
  /** A new executor instance; called again to stand in for a restarted server. */
  create(): Executor;
  /**
   * A directory for the attempts' workDirs (on a filesystem the backend's nodes share), inside
   * `dataDir`.
   */
  readonly workRoot: string;
  /**
   * What stands for the server's data directory: the executor's sandbox hides it from jobs
   * (the `sandbox` case fills it with a keyring, a signing key, a database and checkpoints).
   */
  readonly dataDir: string;
  /** A well-formed externalId that names no attempt. */
  readonly unknownExternalId: string;
  /** Cases this backend cannot run, each with the reason (shown in the test name). */
  readonly skip?: Partial<Record<ConformanceCase, string>>;
}

const MiB = 1024 * 1024;
/** Long enough for a busy shared machine; polls return as soon as the state is reached. */
const DEADLINE_MS = 45_000;
const ENDED = new Set<AttemptStatus['state']>(['succeeded', 'failed', 'cancelled', 'lost']);

export function executorConformance(target: ConformanceTarget): void {
  describe(`executor conformance: ${target.name}`, () => {
    const executors: Executor[] = [];
    const started: { executor: Executor; externalId: string }[] = [];
    let counter = 0;
    const executor = (): Executor => {
      const e = target.create();
      executors.push(e);
      return e;
    };
    const main = executor();

    afterAll(async () => {
      // Nothing a failed case left behind keeps running.
      for (const { executor: e, externalId } of started) {
        await e.cancel(externalId, { graceSeconds: 0 }).catch(() => {});
      }
      for (const e of executors) await e.close();
    });

    const request = (
      name: string,
      spec: Partial<JobSpec> & Pick<JobSpec, 'command'>,
      extra?: Partial<LaunchRequest>,
    ) => {
      const jobId = `conf-${name}-${process.pid}-${++counter}`;
      const resources = spec.resources ?? { cpu: 1, memory: 64 * MiB, gpu: 0 };
      const req: LaunchRequest = {
        jobId,
        attempt: 1,
        spec: { queue: 'default', resources, ...spec },
        placements: [{ nodeId: 'any', cpu: resources.cpu, memory: resources.memory, gpus: [] }],
        env: {
          FALAJ_RUN_ID: `run-${counter}`,
          FALAJ_TOKEN: 'falaj_conformance_token',
          FALAJ_URL: 'http://127.0.0.1:1',
        },
        workDir: path.join(target.workRoot, jobId),
        ...extra,
      };
      return req;
    };
    const start = async (req: LaunchRequest, e: Executor = main) => {
      const { externalId } = await e.start(req);
      expect(typeof externalId).toBe('string');
      started.push({ executor: e, externalId });
      return externalId;
    };
    const waitFor = async (
      id: string,
      done: (s: AttemptStatus) => boolean,
      e: Executor = main,
    ): Promise<AttemptStatus> => {
      const deadline = Date.now() + DEADLINE_MS;
      for (;;) {
        const s = await e.status(id);
        if (done(s)) return s;
        if (Date.now() > deadline)
          throw new Error(`attempt ${id} still ${JSON.stringify(s)} after ${DEADLINE_MS} ms`);
        await sleep(100);
      }
    };
    const ended = (id: string, e: Executor = main) => waitFor(id, (s) => ENDED.has(s.state), e);
    const running = (id: string) => waitFor(id, (s) => s.state !== 'pending');
    const readLog = async (id: string): Promise<string> => {
      const parts: Buffer[] = [];
      for await (const chunk of main.logs(id)) parts.push(Buffer.from(chunk));
      return Buffer.concat(parts).toString('utf8');
    };
    const waitForFile = async (file: string) => {
      const deadline = Date.now() + DEADLINE_MS;
      while (!existsSync(file)) {
        if (Date.now() > deadline) throw new Error(`${file} never appeared`);
        await sleep(50);
      }
    };
    const pidAlive = (pid: number) => {
      try {
        process.kill(pid, 0);
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return !/\) [ZX] /.test(stat);
      } catch {
        return false;
      }
    };
    const waitGone = async (pid: number) => {
      const deadline = Date.now() + DEADLINE_MS;
      while (pidAlive(pid)) {
        if (Date.now() > deadline) throw new Error(`process ${pid} still alive`);
        await sleep(50);
      }
    };

    // A job's own pids are those of its PID namespace; the test finds its processes from the
    // outside by a marker in their command line (a sleep of a duration no other process has).
    const sleepMarker = () => `${300 + (process.pid % 1000)}.${++counter}`;
    const pidOf = (marker: string) => hostPidOf((argv) => argv[0] === 'sleep' && argv[1] === marker);

    const test = (name: ConformanceCase, fn: () => Promise<void>) => {
      const reason = target.skip?.[name];
      if (reason !== undefined) it.skip(`${name} — skipped: ${reason}`, fn);
      else it(name, fn, 120_000);
    };

    test('succeeds', async () => {
      const id = await start(request('ok', { command: ['sh', '-c', 'echo hello'] }));
      expect(await ended(id)).toMatchObject({ state: 'succeeded', exitCode: 0 });
      expect(await readLog(id)).toBe('hello\n');
    });

    test('exit-code', async () => {
      const id = await start(request('exit3', { command: ['sh', '-c', 'exit 3'] }));
      const s = await ended(id);
      expect(s).toMatchObject({ state: 'failed', exitCode: 3 });
      expect(s.reason).toMatch(/exit code 3/);
    });

    test('command-not-found', async () => {
      const id = await start(request('nocmd', { command: ['falaj-no-such-command-xyz', '--flag'] }));
      const s = await ended(id);
      expect(s.state).toBe('failed');
      expect(s.reason).toMatch(/not found/i);
      expect(await readLog(id)).toMatch(/falaj-no-such-command-xyz/);
    });

    test('argv-verbatim', async () => {
      // No shell between Falaj and the command: quotes, $ and globs arrive as written.
      const args = ['a b', "it's", '$HOME', '*', '"q"', ''];
      const id = await start(request('argv', { command: ['printf', '[%s]\\n', ...args] }));
      expect(await ended(id)).toMatchObject({ state: 'succeeded' });
      expect(await readLog(id)).toBe(args.map((a) => `[${a}]\n`).join(''));
    });

    test('workdir', async () => {
      // A folder of the attempt's own (as an unpacked code snapshot is), and a system folder.
      const base = request('wd', { command: ['pwd'] });
      const dir = path.join(base.workDir, 'sub dir');
      mkdirSync(dir, { recursive: true });
      const id = await start({ ...base, spec: { ...base.spec, workdir: dir } });
      expect(await ended(id)).toMatchObject({ state: 'succeeded' });
      expect((await readLog(id)).trim()).toBe(realpathSync(dir));
      const sys = await start(request('wd-sys', { command: ['pwd'], workdir: '/usr/bin' }));
      expect(await ended(sys)).toMatchObject({ state: 'succeeded' });
      expect((await readLog(sys)).trim()).toBe('/usr/bin');
    });

    test('env', async () => {
      const req = request('env', {
        command: [
          'sh',
          '-c',
          'printf "%s\\n" "run=$FALAJ_RUN_ID" "token=$FALAJ_TOKEN" "spec=$SPEC_VAR" "both=$BOTH"',
        ],
        env: { SPEC_VAR: 'from spec, with spaces', BOTH: 'spec' },
      });
      const id = await start({ ...req, env: { ...req.env, BOTH: 'request' } });
      expect(await ended(id)).toMatchObject({ state: 'succeeded' });
      expect(await readLog(id)).toBe(
        `run=${req.env.FALAJ_RUN_ID}\ntoken=falaj_conformance_token\nspec=from spec, with spaces\nboth=request\n`,
      );
    });

    test('server-env-not-leaked', async () => {
      // The server's own environment (database URLs, keys) is not the job's.
      process.env.FALAJ_CONFORMANCE_SERVER_ONLY = 'server-secret';
      try {
        const id = await start(
          request('leak', {
            // biome-ignore lint/suspicious/noTemplateCurlyInString: shell syntax for the job, not a JS template
            command: ['sh', '-c', 'echo "leak=${FALAJ_CONFORMANCE_SERVER_ONLY-unset} path=${PATH:+set}"'],
          }),
        );
        expect(await ended(id)).toMatchObject({ state: 'succeeded' });
        expect(await readLog(id)).toBe('leak=unset path=set\n');
      } finally {
        delete process.env.FALAJ_CONFORMANCE_SERVER_ONLY;
      }
    });

    test('cuda-visible-devices', async () => {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell syntax for the job, not a JS template
      const base = request('cuda', { command: ['sh', '-c', 'echo "cuda=${CUDA_VISIBLE_DEVICES-unset}"'] });
      const id = await start({
        ...base,
        placements: [{ nodeId: 'any', cpu: 1, memory: 64 * MiB, gpus: [2, 3] }],
      });
      expect(await ended(id)).toMatchObject({ state: 'succeeded' });
      expect(await readLog(id)).toBe('cuda=2,3\n');
      // A job placed without GPUs sees none, rather than every GPU of the machine.
      const cpuOnly = await start(
        // biome-ignore lint/suspicious/noTemplateCurlyInString: shell syntax for the job, not a JS template
        request('cuda0', { command: ['sh', '-c', 'echo "cuda=${CUDA_VISIBLE_DEVICES-unset}"'] }),
      );
      await ended(cpuOnly);
      expect(await readLog(cpuOnly)).toBe('cuda=\n');
    });

    test('logs-interleaved', async () => {
      const id = await start(
        request('interleave', { command: ['sh', '-c', 'echo one; echo two >&2; echo three'] }),
      );
      await ended(id);
      expect(await readLog(id)).toBe('one\ntwo\nthree\n');
    });

    test('logs-follow-live', async () => {
      // The job waits for a file that the test writes only after `follow` delivered the first
      // line: passing proves the stream is live, whatever the timing.
      const req = request('follow', {
        command: ['sh', '-c', 'echo first; while [ ! -f go ]; do sleep 0.1; done; echo second'],
      });
      const id = await start(req);
      let text = '';
      for await (const chunk of main.logs(id, { follow: true })) {
        text += Buffer.from(chunk).toString('utf8');
        if (text === 'first\n') writeFileSync(path.join(req.workDir, 'go'), '');
      }
      expect(text).toBe('first\nsecond\n');
      expect((await main.status(id)).state).toBe('succeeded');
    });

    test('logs-flood', async () => {
      // ~18 MB through stdout: every byte arrives, read back in chunks, never one string.
      const line = '0123456789abcdefghijklmnopqrstuvwxyz\n';
      const lines = 500_000;
      const id = await start(
        request('flood', { command: ['sh', '-c', `yes ${line.trim()} | head -n ${lines}; echo END`] }),
      );
      expect(await ended(id)).toMatchObject({ state: 'succeeded' });
      let bytes = 0;
      let newlines = 0;
      let biggest = 0;
      let tail = '';
      for await (const chunk of main.logs(id)) {
        bytes += chunk.length;
        biggest = Math.max(biggest, chunk.length);
        for (const b of chunk) if (b === 10) newlines++;
        tail = (tail + Buffer.from(chunk).toString('latin1')).slice(-8);
      }
      expect(bytes).toBe(line.length * lines + 4);
      expect(newlines).toBe(lines + 1);
      expect(tail.endsWith('END\n')).toBe(true);
      expect(biggest).toBeLessThanOrEqual(1024 * 1024);
    });

    test('cancel', async () => {
      const marker = sleepMarker();
      const req = request('cancel', {
        command: [
          'sh',
          '-c',
          // The trap takes its time: the grace period is the job's, not cut short by the sandbox.
          `trap "sleep 1; echo got-term > term.txt; exit 0" TERM; sleep ${marker} & wait`,
        ],
      });
      const id = await start(req);
      await running(id);
      const child = await pidOf(marker);
      await main.cancel(id, { graceSeconds: 30 });
      expect((await ended(id)).state).toBe('cancelled');
      // SIGTERM came first (the trap ran), and the child in the group went too.
      await waitForFile(path.join(req.workDir, 'term.txt'));
      await waitGone(child);
    });

    test('cancel-ignoring-sigterm', async () => {
      const marker = sleepMarker();
      const req = request('stubborn', {
        command: ['sh', '-c', `trap "" TERM; sleep ${marker} & wait; wait; wait`],
      });
      const id = await start(req);
      await running(id);
      const child = await pidOf(marker);
      const grace = 1;
      const t0 = Date.now();
      await main.cancel(id, { graceSeconds: grace });
      const s = await ended(id);
      expect(s.state).toBe('cancelled');
      // It ignores SIGTERM, so it cannot have ended before the grace period ran out.
      expect(Date.now() - t0).toBeGreaterThanOrEqual(grace * 1000);
      await waitGone(child);
    });

    test('cancel-idempotent', async () => {
      const id = await start(request('twice', { command: ['sleep', '300'] }));
      await running(id);
      await Promise.all([main.cancel(id, { graceSeconds: 5 }), main.cancel(id, { graceSeconds: 5 })]);
      await main.cancel(id, { graceSeconds: 5 });
      expect((await ended(id)).state).toBe('cancelled');
      // Cancelling an attempt that already ended changes nothing.
      const done = await start(request('done', { command: ['true'] }));
      await ended(done);
      await main.cancel(done, { graceSeconds: 1 });
      expect((await main.status(done)).state).toBe('succeeded');
    });

    test('unknown-id', async () => {
      try {
        const s = await main.status(target.unknownExternalId);
        expect(s.state).toBe('lost');
        expect(s.reason).toBeTruthy();
      } catch (err) {
        expect(isFalajError(err)).toBe(true);
        expect(['FALAJ_NOT_FOUND', 'FALAJ_INVALID_ARGUMENT']).toContain((err as { code: string }).code);
      }
    });

    test('discover', async () => {
      const nodes = await main.discover();
      expect(nodes.length).toBeGreaterThan(0);
      for (const n of nodes) {
        expect(n.nodeId).not.toBe('');
        expect(n.cpu).toBeGreaterThan(0);
        expect(n.memory).toBeGreaterThan(0);
        for (const indices of Object.values(n.gpus)) {
          for (const i of indices) expect(Number.isInteger(i) && i >= 0).toBe(true);
        }
      }
    });

    test('distributed-one-node', async () => {
      const id = await start(
        request('ddp', {
          command: [
            'sh',
            '-c',
            'echo "rank=$RANK/$WORLD_SIZE local=$LOCAL_RANK master=$MASTER_ADDR:$MASTER_PORT"',
          ],
          resources: { cpu: 2, memory: 64 * MiB, gpu: 0 },
          distributed: { nodes: 1, procsPerNode: 2 },
        }),
      );
      expect(await ended(id)).toMatchObject({ state: 'succeeded' });
      const lines = (await readLog(id)).trim().split('\n').sort();
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^rank=0\/2 local=0 master=\S+:\d+$/);
      expect(lines[1]).toMatch(/^rank=1\/2 local=1 master=\S+:\d+$/);
      expect(lines[0]?.split('master=')[1]).toBe(lines[1]?.split('master=')[1]);
    });

    test('max-runtime', async () => {
      const id = await start(request('deadline', { command: ['sleep', '300'], maxRuntimeSeconds: 1 }));
      const s = await ended(id);
      expect(s.state).toBe('failed');
      expect(s.reason).toMatch(/runtime/i);
    });

    test('new-instance', async () => {
      // A restarted server builds a new executor: it must find the attempt and be able to stop it.
      const id = await start(request('restart', { command: ['sleep', '300'] }));
      await running(id);
      const second = executor();
      expect((await second.status(id)).state).toBe('running');
      await second.cancel(id, { graceSeconds: 5 });
      expect((await ended(id, second)).state).toBe('cancelled');
      expect((await main.status(id)).state).toBe('cancelled');
    });

    test('sandbox', async () => {
      // An editor's job attacks the platform: every try must fail, and its own things still work.
      const d = target.dataDir;
      const keys = path.join(d, 'keys');
      mkdirSync(keys, { recursive: true });
      mkdirSync(path.join(d, 'audit'), { recursive: true });
      const keyring = '{"keys":[{"version":1,"key":"SANDBOX-CANARY-KEY"}]}';
      writeFileSync(path.join(keys, 'keyring.json'), keyring);
      writeFileSync(path.join(keys, 'audit-signing.key'), 'SANDBOX-CANARY-SIGNING');
      writeFileSync(path.join(d, 'falaj.db'), 'SANDBOX-CANARY-DB');
      writeFileSync(path.join(d, 'audit', 'checkpoint-1.json'), 'SANDBOX-CANARY-CHECKPOINT');
      process.env.FALAJ_SANDBOX_CANARY = 'SANDBOX-CANARY-ENV';
      try {
        // Another attempt, still running, with a file of its own.
        const otherReq = request('sandbox-other', {
          command: ['sh', '-c', 'echo SANDBOX-CANARY-OTHER > mine.txt; sleep 60'],
        });
        const other = await start(otherReq);
        await waitForFile(path.join(otherReq.workDir, 'mine.txt'));

        const base = request('sandbox', {
          command: ['sh', '-c', SANDBOX_PROBE],
          env: { D: d, OTHER: otherReq.workDir, SPID: String(process.pid) },
        });
        // A code snapshot as the scheduler unpacks it, before the attempt starts.
        mkdirSync(path.join(base.workDir, 'code'), { recursive: true });
        writeFileSync(
          path.join(base.workDir, 'code', 'run.sh'),
          'echo code-ran > code-out.txt; cat code-out.txt\n',
        );
        const id = await start({ ...base, env: { ...base.env, MY_SECRET: 'secret-value' } });
        expect(await ended(id)).toMatchObject({ state: 'succeeded' });
        const log = await readLog(id);
        const lines = Object.fromEntries(
          log
            .trim()
            .split('\n')
            .map((l) => l.split('=', 2) as [string, string]),
        );
        expect(lines).toEqual({
          keyring: 'blocked',
          signing: 'blocked',
          db: 'blocked',
          checkpoints: 'blocked',
          'list-data': 'blocked',
          other: 'blocked',
          environ: 'blocked',
          'write-keys': 'blocked',
          'write-data': 'blocked',
          'kill-server': 'blocked',
          'server-env': 'unset',
          own: 'ok',
          code: 'code-ran',
          secret: 'secret-value',
          token: 'falaj_conformance_token',
        });
        expect(log).not.toMatch(/SANDBOX-CANARY/);
        // Nothing was written, and the "server" (this process) is still here to check.
        expect(readFileSync(path.join(keys, 'keyring.json'), 'utf8')).toBe(keyring);
        expect(readdirSync(keys).sort()).toEqual(['audit-signing.key', 'keyring.json']);
        expect(existsSync(path.join(d, 'evil'))).toBe(false);
        await main.cancel(other, { graceSeconds: 1 });
      } finally {
        delete process.env.FALAJ_SANDBOX_CANARY;
      }
    });
  });
}

/**
 * The sandbox case's job: each try prints `name=blocked` when it fails and `name=LEAK` when it
 * works; then its own directory, code snapshot, secret and token are used.
 */
const SANDBOX_PROBE = `try() { n=$1; shift; if "$@" >/dev/null 2>&1; then echo "$n=LEAK"; else echo "$n=blocked"; fi; }
try keyring cat "$D/keys/keyring.json"
try signing cat "$D/keys/audit-signing.key"
try db cat "$D/falaj.db"
try checkpoints cat "$D/audit/checkpoint-1.json"
try list-data ls "$D/keys"
try other cat "$OTHER/mine.txt"
try environ cat "/proc/$SPID/environ"
try write-keys sh -c 'echo x > "$D/keys/evil"'
try write-data sh -c 'echo x > "$D/evil"'
try kill-server kill -0 "$SPID"
echo "server-env=\${FALAJ_SANDBOX_CANARY:-unset}"
echo own > own.txt && echo "own=$(cat own.txt | sed s/own/ok/)"
echo "code=$(cd code && sh run.sh)"
echo "secret=$MY_SECRET"
echo "token=$FALAJ_TOKEN"`;

/** A fresh directory for a target's workDirs. */
export function conformanceWorkRoot(prefix: string, base = os.tmpdir()): string {
  mkdirSync(base, { recursive: true });
  return mkdtempSync(path.join(base, prefix));
}
