// A server killed (-9) while local jobs run: after a restart over the same data, a job whose
// process lived on is found again and ends as it really did; one whose process died meanwhile
// is not left "running" forever. Nothing about it depends on timing but generous deadlines.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliSession, startCliSession } from '../support/cli-session.js';
import { hostPidOf } from '../support/host-pid.js';

let cli: CliSession;
const falaj = (args: string[]) => cli.ok(args);
const until = (id: string, states: string[]) => cli.untilJob(id, states, 45);

beforeAll(async () => {
  cli = await startCliSession();
});
afterAll(() => cli?.dispose());

describe('a server restart while local jobs run', () => {
  it('finds the surviving job again and records how each ended', async () => {
    const marker = path.join(cli.scratch, 'release');
    const doomedMark = `doomed-${process.pid}`;
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
      'setInterval(()=>{},1000)',
      doomedMark,
    ]).trim();
    await until(survivor, ['running']);
    await until(doomed, ['running']);
    // Found by its command line: inside its sandbox the job's own pid means nothing out here.
    const pid = await hostPidOf((argv) => argv.at(-1) === doomedMark);

    await cli.killServer();
    // While no server runs: the doomed job's process dies (as on a machine reboot).
    process.kill(pid, 'SIGKILL');
    spawnSync('touch', [marker]);

    await cli.startServer();
    const s = await until(survivor, ['succeeded', 'failed', 'cancelled']);
    expect(s.state, s.reason).toBe('succeeded');
    expect(falaj(['jobs', 'logs', survivor])).toContain('released');
    const d = await until(doomed, ['succeeded', 'failed', 'cancelled']);
    expect(d.state).toBe('failed');
    expect(String(d.reason)).toMatch(/SIGKILL|signal|lost/i);
  });
});
