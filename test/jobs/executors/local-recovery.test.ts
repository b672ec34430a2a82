// After a server restart a new LocalExecutor over the same state directory must find the
// attempts the old one started: still running, ended while nobody watched (the wrapper wrote
// its exit status), or vanished (→ lost, with a reason). Real processes throughout; the
// "old server" is a separate Node process that starts an attempt and exits.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { LocalExecutor } from '../../../src/jobs/executors/local.js';
import { attemptFiles, readRecord } from '../../../src/jobs/executors/local-attempt-files.js';
import type { AttemptStatus } from '../../../src/jobs/types.js';
import { conformanceWorkRoot } from './conformance.js';

const root = conformanceWorkRoot('falaj-local-recovery-');
const stateDir = path.join(root, 'state');
const fixture = path.join(import.meta.dirname, 'fixtures', 'start-then-exit.ts');

/** Starts COMMAND from a separate, short-lived server process; returns the externalId it printed. */
function startFromOtherServer(name: string, command: string[]): { externalId: string; workDir: string } {
  const workDir = path.join(root, name);
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', fixture, stateDir, workDir, '--', ...command],
    {
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  return { externalId: out.trim(), workDir };
}

async function waitFor(
  e: LocalExecutor,
  id: string,
  done: (s: AttemptStatus) => boolean,
): Promise<AttemptStatus> {
  const deadline = Date.now() + 45_000;
  for (;;) {
    const s = await e.status(id);
    if (done(s)) return s;
    if (Date.now() > deadline) throw new Error(`still ${JSON.stringify(s)}`);
    await sleep(100);
  }
}

describe('local executor: recovery after a server restart', () => {
  it('finds a running attempt started by a server that has exited, and its exit status once it ends', async () => {
    const { externalId, workDir } = startFromOtherServer('running', [
      'sh',
      '-c',
      'echo started; while [ ! -f go ]; do sleep 0.1; done; exit 7',
    ]);
    const fresh = new LocalExecutor({ stateDir });
    expect(await fresh.status(externalId)).toEqual({ state: 'running' });
    // It keeps running with nobody as its parent, then ends: its exit status is still known.
    writeFileSync(path.join(workDir, 'go'), '');
    const s = await waitFor(fresh, externalId, (x) => x.state !== 'running');
    expect(s).toMatchObject({ state: 'failed', exitCode: 7, reason: 'exit code 7' });
    const logs: string[] = [];
    for await (const c of fresh.logs(externalId)) logs.push(Buffer.from(c).toString());
    expect(logs.join('')).toBe('started\n');
  });

  it('reports the exit status of an attempt that ended while no server ran', async () => {
    const { externalId } = startFromOtherServer('ended', ['sh', '-c', 'exit 0']);
    const fresh = new LocalExecutor({ stateDir });
    expect(await waitFor(fresh, externalId, (x) => x.state !== 'running')).toEqual({
      state: 'succeeded',
      exitCode: 0,
    });
  });

  it('cancels an attempt of the old server, SIGKILL included', async () => {
    const { externalId, workDir } = startFromOtherServer('cancel', [
      'sh',
      '-c',
      'trap "" TERM; touch ready; sleep 300',
    ]);
    const fresh = new LocalExecutor({ stateDir });
    const deadline = Date.now() + 45_000;
    while (!existsSync(path.join(workDir, 'ready')) && Date.now() < deadline) await sleep(50);
    const t0 = Date.now();
    await fresh.cancel(externalId, { graceSeconds: 1 });
    // SIGTERM is ignored, so only the SIGKILL after the grace period can have ended it.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(await fresh.status(externalId)).toMatchObject({ state: 'cancelled', signal: 'SIGKILL' });
  });

  it('marks an attempt whose processes vanished without an exit status as lost, with a reason', async () => {
    const { externalId } = startFromOtherServer('vanished', ['sleep', '300']);
    const record = readRecord(stateDir, externalId);
    // What a machine crash or an OOM kill of the whole group looks like from the outside.
    process.kill(-record.pid, 'SIGKILL');
    const fresh = new LocalExecutor({ stateDir });
    const s = await waitFor(fresh, externalId, (x) => x.state !== 'running');
    expect(s.state).toBe('lost');
    expect(s.reason).toMatch(/vanished without an exit status/);
  });

  it('does not take a reused pid for the attempt', async () => {
    const { externalId, workDir } = startFromOtherServer('reused', ['sh', '-c', 'exit 0']);
    const fresh = new LocalExecutor({ stateDir });
    await waitFor(fresh, externalId, (x) => x.state !== 'running');
    // Pretend the record's pid now belongs to another process group leader (alive, a different
    // start time) and that no exit status was written: the attempt must not look running.
    const other = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
    try {
      const recordFile = path.join(stateDir, `${externalId}.json`);
      const record = JSON.parse(readFileSync(recordFile, 'utf8'));
      writeFileSync(recordFile, JSON.stringify({ ...record, pid: other.pid }));
      rmSync(attemptFiles(workDir).exit);
      expect((await fresh.status(externalId)).state).toBe('lost');
    } finally {
      other.kill('SIGKILL');
    }
  });
});
