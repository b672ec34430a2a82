// The data commands end to end against a real server (built dist): create a dataset, add a
// version, profile, suggest a suite, edit it, validate (exit code 1 on failure), drift and
// fairness on local files without any server.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliSession, startCliSession } from '../support/cli-session.js';
import { peopleCsv } from './helpers.js';

let cli: CliSession;
let dir: string;
const falaj = (args: string[], input = '', env: Record<string, string> = {}) => cli.falaj(args, input, env);
const ok = (args: string[]) => cli.ok(args);

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'falaj-data-cli-'));
  writeFileSync(path.join(dir, 'people.csv'), peopleCsv());
  writeFileSync(path.join(dir, 'older.csv'), peopleCsv(200, 15));
  const preds = ['y,pred,sex,age_band'];
  // Group f: 10 rows, 8 predicted positive; group m: 10 rows, 2 predicted positive.
  for (let i = 0; i < 10; i++) preds.push(`${i % 2},${i < 8 ? 1 : 0},f,${i % 3 === 0 ? 'young' : 'old'}`);
  for (let i = 0; i < 10; i++) preds.push(`${i % 2},${i < 2 ? 1 : 0},m,${i % 3 === 0 ? 'young' : 'old'}`);
  writeFileSync(path.join(dir, 'preds.csv'), `${preds.join('\n')}\n`);
  cli = await startCliSession();
});
afterAll(async () => {
  await cli?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('falaj data commands', () => {
  it('creates a dataset, adds a version and shows it', () => {
    ok(['datasets', 'create', 'people', '--description', 'customers']);
    const added = ok(['datasets', 'add-version', 'people', path.join(dir, 'people.csv')]);
    expect(added).toMatch(/^people@1: 40 rows, 7 columns, unvalidated/);
    const list = JSON.parse(ok(['datasets', 'list', '--json']));
    expect(list).toEqual([expect.objectContaining({ name: 'people', latestVersion: 1 })]);
    expect(ok(['datasets', 'show', 'people'])).toMatch(
      /VERSION\s+ROWS.*\n1\s+40\s+7\s+unvalidated\s+people\.csv/,
    );
  });

  it('profiles a version and the same local file alike', () => {
    const remote = JSON.parse(ok(['profile', 'people@1', '--json']));
    const local = JSON.parse(ok(['profile', path.join(dir, 'people.csv'), '--json']));
    expect(local).toEqual(remote);
    expect(ok(['profile', 'people@latest'])).toMatch(
      /40 rows, 7 columns[\s\S]*COLUMN\s+TYPE[\s\S]*\ncity\s+VARCHAR\s+40\s+0\s+3/,
    );
  });

  it('suggests a suite, which passes; an edited suite fails with exit code 1', () => {
    const suiteFile = path.join(dir, 'suite.json');
    writeFileSync(suiteFile, ok(['suggest-suite', 'people@1']));
    expect(ok(['validate', path.join(dir, 'people.csv'), '--suite', suiteFile])).toMatch(/^PASSED/);
    const suite = JSON.parse(ok(['suggest-suite', path.join(dir, 'people.csv')]));
    suite.expectations.push({
      expectation_type: 'expect_column_values_to_be_between',
      kwargs: { column: 'age', max_value: 50 },
    });
    writeFileSync(suiteFile, JSON.stringify(suite));
    const local = falaj(['validate', path.join(dir, 'people.csv'), '--suite', suiteFile, '--json']);
    expect(local.code).toBe(1);
    const result = JSON.parse(local.stdout);
    expect(result.success).toBe(false);
    expect(result.statistics.unsuccessful_expectations).toBe(1);
    const remote = falaj(['validate', 'people@1', '--suite', suiteFile]);
    expect(remote.code).toBe(1);
    expect(remote.stdout).toMatch(/^FAILED/);
  });

  it('computes drift between a version and a local file', () => {
    const report = JSON.parse(
      ok(['drift', 'people@1', path.join(dir, 'older.csv'), '--columns', 'age,city', '--json']),
    );
    expect(report.columns.find((c: { column: string }) => c.column === 'age').drifted).toBe(true);
    expect(report.columns.find((c: { column: string }) => c.column === 'city').drifted).toBe(false);
    expect(ok(['drift', path.join(dir, 'people.csv'), path.join(dir, 'people.csv')])).toMatch(
      /^0 of 7 columns drifted/,
    );
  });

  it('computes fairness on a local file with no server at all', () => {
    const noServer = { FALAJ_URL: 'http://127.0.0.1:9', FALAJ_CONFIG: path.join(dir, 'none.json') };
    const res = falaj(
      [
        'fairness',
        path.join(dir, 'preds.csv'),
        '--prediction',
        'pred',
        '--label',
        'y',
        '--sensitive',
        'sex',
        '--json',
      ],
      '',
      noServer,
    );
    expect(res.code, res.stderr).toBe(0);
    const report = JSON.parse(res.stdout);
    expect(report.fairlearn.demographicParityDifference).toBeCloseTo(0.6, 12);
    expect(report.fourFifthsRule.passed).toBe(false);
    const human = falaj(
      [
        'fairness',
        path.join(dir, 'preds.csv'),
        '--prediction',
        'pred',
        '--label',
        'y',
        '--sensitive',
        'sex,age_band',
      ],
      '',
      noServer,
    );
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/four-fifths rule: FAILED/);
  });

  it('reports a bad local file with its line, and a missing version', () => {
    const bad = path.join(dir, 'bad.csv');
    writeFileSync(bad, 'a,b\n1,2\n3\n');
    const res = falaj(['profile', bad, '--json']);
    expect(res.code).toBe(1);
    expect(JSON.parse(res.stdout).error).toMatchObject({ code: 'FALAJ_DATA_INVALID', details: { line: 3 } });
    const missing = falaj(['profile', 'people@9']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/FALAJ_NOT_FOUND/);
  });
});
