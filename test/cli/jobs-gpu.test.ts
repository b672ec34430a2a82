// GPU jobs on the local executor of a machine with two (simulated) GPUs: FALAJ_NVIDIA_SMI points
// the server at a stand-in nvidia-smi that reports two H100s (the only part simulated; the
// processes are real). Each GPU job gets its own GPU through CUDA_VISIBLE_DEVICES; a third waits
// with a reason until one is free.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliSession, startCliSession } from '../support/cli-session.js';
import { fakeNvidiaSmi } from '../support/fake-nvidia-smi.js';

let cli: CliSession;
const falaj = (args: string[]) => cli.ok(args);
const show = (id: string) => JSON.parse(falaj(['jobs', 'show', id, '--json']));
async function until(ids: string[], ok: (jobs: { state: string }[]) => boolean) {
  const deadline = Date.now() + 45_000;
  for (;;) {
    const jobs = ids.map(show);
    if (ok(jobs)) return jobs;
    if (Date.now() > deadline)
      throw new Error(`jobs still ${jobs.map((j) => `${j.state} (${j.reason})`).join(', ')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  const smi = fakeNvidiaSmi(mkdtempSync(path.join(os.tmpdir(), 'falaj-smi-')));
  cli = await startCliSession({ serverEnv: { FALAJ_NVIDIA_SMI: smi } });
});
afterAll(() => cli?.dispose());

describe('GPU jobs on the local executor', () => {
  it('gives each job its own GPU and queues the one that does not fit', async () => {
    const marker = path.join(cli.scratch, 'go');
    const script = `console.log('gpus=' + process.env.CUDA_VISIBLE_DEVICES); const fs = require('fs'); setInterval(() => { if (fs.existsSync(${JSON.stringify(marker)})) process.exit(0); }, 100)`;
    const ids = [0, 1, 2].map(() =>
      falaj([
        'jobs',
        'submit',
        '--cpu',
        '0.2',
        '--memory',
        '64Mi',
        '--gpu',
        '1',
        '--',
        process.execPath,
        '-e',
        script,
      ]).trim(),
    );
    const jobs = await until(ids, (js) => js.filter((j) => j.state === 'running').length === 2);
    const waiting = jobs.find((j) => j.state === 'queued') as { reason: string } | undefined;
    expect(String(waiting?.reason)).toMatch(/GPU/i);
    const running = ids.filter((_, i) => jobs[i]?.state === 'running');
    const seen = new Set<string>();
    for (const id of running) {
      let line = '';
      for (let i = 0; i < 100 && !line.includes('gpus='); i++) {
        line = falaj(['jobs', 'logs', id]);
        if (!line.includes('gpus=')) await new Promise((r) => setTimeout(r, 100));
      }
      seen.add(line.trim());
    }
    expect([...seen].sort()).toEqual(['gpus=0', 'gpus=1']);
    spawnSync('touch', [marker]);
    await until(ids, (js) => js.every((j) => j.state === 'succeeded'));
    const third = ids.find((id) => !running.includes(id)) as string;
    expect(falaj(['jobs', 'logs', third])).toMatch(/gpus=[01]/);
  });
});
