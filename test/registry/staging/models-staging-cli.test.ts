// `falaj models evaluate|gates|promote|approve|reject|card|webhooks` against a server listening
// in this process: the commands are built as the CLI builds them (registerModelCommands, then
// registerModelStagingCommands) and run with the people of helpers.ts as the caller.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerModelCommands } from '../../../src/cli/commands/models.js';
import { registerModelStagingCommands } from '../../../src/cli/commands/models-staging.js';
import { loansCsv, type Person, type StagingTest, setupStaging } from './helpers.js';

let x: StagingTest;
let url = '';
const dir = mkdtempSync(path.join(os.tmpdir(), 'falaj-staging-cli-'));

beforeAll(async () => {
  x = await setupStaging('sqlite');
  url = await x.t.app.listen({ port: 0, host: '127.0.0.1' });
  await x.dataset('loans', loansCsv(800, 11, { bias: false }));
  await x.dataset('holdout', loansCsv(500, 12, { bias: false }));
  await x.trainAndRegister('risk', { dataset: 'loans@1', target: 'label', exclude: ['group'], cv: 2 });
}, 180_000);
afterAll(async () => x?.close());

/** Runs `falaj models ...` as `who`; returns what it printed and its exit code. */
async function falaj(who: Person, ...args: string[]): Promise<{ out: string; err: string; code: number }> {
  const saved = { ...process.env };
  Object.assign(process.env, {
    FALAJ_URL: url,
    FALAJ_TOKEN: x.as[who],
    FALAJ_PROJECT: 'alpha',
    FALAJ_CONFIG: path.join(dir, 'none.json'),
  });
  let out = '';
  let err = '';
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    err += String(chunk);
    return true;
  });
  const exit = vi.spyOn(process, 'exit').mockImplementation(((c?: number) => {
    throw new Error(`exit ${c}`);
  }) as never);
  process.exitCode = 0;
  let code = 0;
  try {
    const program = new Command().exitOverride().configureOutput({ writeErr: (t) => (err += t) });
    registerModelStagingCommands(registerModelCommands(program));
    await program.parseAsync(['node', 'falaj', 'models', ...args]);
    code = Number(process.exitCode ?? 0);
  } catch (e) {
    const m = /^exit (\d+)$/.exec((e as Error).message);
    const commander = (e as { exitCode?: unknown }).exitCode;
    if (m) code = Number(m[1]);
    else if (typeof commander === 'number') code = commander;
    else throw e;
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
    exit.mockRestore();
    process.exitCode = 0;
    process.env = saved;
  }
  return { out, err, code };
}

describe('falaj models (staging)', () => {
  it('evaluate on a dataset version and on a local file, attach the CV, list', async () => {
    const ev = await falaj(
      'alice',
      'evaluate',
      'risk@1',
      '--data',
      'holdout@1',
      '--sensitive',
      'group',
      '--slices',
      'region',
    );
    expect(ev.code, ev.err).toBe(0);
    expect(ev.out).toMatch(/evaluation [0-9a-f]{32} \(dataset\) on holdout@1, 500 rows/);
    expect(ev.out).toMatch(/fairness by group: demographic parity ratio 0\.\d+/);
    const file = path.join(dir, 'extra.csv');
    writeFileSync(file, loansCsv(200, 13, { bias: false }));
    x.t.clock.advance(1000);
    const fromFile = await falaj('alice', 'evaluate', 'risk@1', '--file', file, '--json');
    expect(fromFile.code, fromFile.err + fromFile.out).toBe(0);
    expect(JSON.parse(fromFile.out)).toMatchObject({ kind: 'file', rowCount: 200 });
    const cv = await falaj('alice', 'evaluate', 'risk@1', '--cv', '--json');
    expect(JSON.parse(cv.out)).toMatchObject({ kind: 'cv', result: { cv: { k: 2 } } });
    const listed = await falaj('alice', 'evaluations', 'risk@1');
    expect(listed.out.split('\n')[0]).toMatch(/^ID\s+KIND\s+DATA/);
    expect(listed.out.match(/\n[0-9a-f]{32}/g)).toHaveLength(3);
    const missing = await falaj(
      'alice',
      'evaluate',
      'risk@1',
      '--data',
      'holdout@1',
      '--sensitive',
      'gender',
      '--json',
    );
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.out).error.code).toBe('FALAJ_EVALUATION_DATA_MISMATCH');
  });

  it('gates set, show, run (exit 2 on a failed check)', async () => {
    const policy = path.join(dir, 'policy.yaml');
    writeFileSync(policy, 'metrics:\n  - auc >= 0.99\n');
    expect((await falaj('bob', 'gates', 'set', 'risk', policy)).out).toContain(
      'gate policy of risk: revision 1',
    );
    expect((await falaj('bob', 'gates', 'show', 'risk')).out).toContain('auc >= 0.99');
    x.t.clock.advance(1000);
    const failed = await falaj('alice', 'gates', 'run', 'risk@1');
    expect(failed.code).toBe(2);
    expect(failed.out).toMatch(/gates FAILED/);
    expect(failed.out).toMatch(/auc >= 0.99\s+0\.\d+\s+0\.99\s+FAIL/);
    // The latest evaluation is on the uploaded file, without fairness: the policy reads the holdout's.
    writeFileSync(
      policy,
      'evaluation: {dataset: holdout}\nmetrics:\n  - auc >= 0.7\nfairness:\n  group: [demographic_parity_ratio >= 0.8]\n',
    );
    await falaj('bob', 'gates', 'set', 'risk', policy);
    const passed = await falaj('alice', 'gates', 'run', 'risk@1', '--json');
    expect(passed.code).toBe(0);
    expect(JSON.parse(passed.out)).toMatchObject({ passed: true, policyRevision: 2 });
    expect((await falaj('alice', 'gates', 'history', 'risk')).out.match(/\n\d+\s/g)).toHaveLength(2);
    const bad = await falaj('bob', 'gates', 'set', 'risk', path.join(dir, 'nope.yaml'));
    expect(bad.code).toBe(1);
  });

  it('promote, approve (not one’s own), card; reject needs a reason', async () => {
    const req = await falaj('alice', 'promote', 'risk@1', '--alias', 'production', '--note', 'first');
    expect(req.code, req.err).toBe(0);
    const id = /promotion request ([0-9a-f]{32})/.exec(req.out)?.[1] as string;
    expect(req.out).toContain(`another maintainer runs \`falaj models approve ${id}\``);
    const self = await falaj('alice', 'approve', id);
    expect(self.code).toBe(1);
    expect(self.err).toMatch(/FALAJ_FORBIDDEN|FALAJ_SELF_APPROVAL/);
    const pending = await falaj('bob', 'promotions', '--state', 'pending');
    expect(pending.out).toContain(id);
    const ok = await falaj('bob', 'approve', id);
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toContain('risk@1 → production: approved by bob');
    const card = await falaj('alice', 'card', 'risk@production', '--intended-use', 'Demonstration only');
    expect(card.out).toContain('# Model card: risk version 1');
    expect(card.out).toContain('Demonstration only');
    expect(card.out).toMatch(/requested by alice .*approved by bob with every gate passed/);
    const json = JSON.parse((await falaj('alice', 'card', 'risk@1', '--format', 'json')).out);
    expect(json.promotions[0]).toMatchObject({ state: 'approved', decidedBy: 'bob' });

    await x.trainAndRegister('risk', { dataset: 'loans@1', target: 'label', exclude: ['group'] });
    const second = await falaj('alice', 'promote', 'risk@2', '--alias', 'production', '--json');
    const id2 = JSON.parse(second.out).request.id as string;
    const noReason = await falaj('bob', 'reject', id2);
    expect(noReason.code).not.toBe(0);
    const rejected = await falaj('bob', 'reject', id2, '--reason', 'not yet');
    expect(rejected.out).toContain('risk@2 → production: rejected by bob');
  });

  it('webhooks add, list, deliveries, rm (admins)', async () => {
    const denied = await falaj('bob', 'webhooks', 'add', 'http://127.0.0.1:9/x');
    expect(denied.code).toBe(1);
    const added = await falaj('dana', 'webhooks', 'add', 'http://127.0.0.1:9/x', '--events', 'alias.changed');
    expect(added.out).toMatch(/webhook [0-9a-f]{32}; its secret \(shown once\): whsec_/);
    const id = /webhook ([0-9a-f]{32})/.exec(added.out)?.[1] as string;
    expect((await falaj('dana', 'webhooks', 'list')).out).toContain('alias.changed');
    expect((await falaj('dana', 'webhooks', 'deliveries', id, '--json')).out.trim()).toBe('[]');
    expect((await falaj('dana', 'webhooks', 'pause', id)).out).toContain('paused');
    expect((await falaj('dana', 'webhooks', 'rm', id)).out).toContain('removed');
  });
});
