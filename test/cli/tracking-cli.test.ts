// `falaj experiments` and `falaj runs` end to end against a real server, with a session and
// FALAJ_PROJECT (sent as X-Falaj-Project), as a data scientist would use them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliSession, startCliSession } from '../support/cli-session.js';

let cli: CliSession;
const falaj = (args: string[], input = '', env: Record<string, string> = {}) => cli.falaj(args, input, env);
const ok = (args: string[]) => cli.ok(args);

beforeAll(async () => {
  cli = await startCliSession();
});
afterAll(() => cli?.dispose());

describe('falaj experiments and runs', () => {
  let first = '';
  let second = '';

  it('creates an experiment and lists it', () => {
    ok(['experiments', 'create', 'churn', '--tag', 'team=risk']);
    const list = JSON.parse(ok(['experiments', 'list', '--json'])) as {
      name: string;
      tags: Record<string, string>;
    }[];
    expect(list).toEqual([expect.objectContaining({ name: 'churn', tags: { team: 'risk' } })]);
  });

  it('creates runs, logs a batch, and shows the latest values', () => {
    first = ok(['runs', 'create', 'churn', '--name', 'first']).trim();
    second = ok(['runs', 'create', 'churn', '--name', 'second']).trim();
    expect(first).toMatch(/^[0-9a-f]{32}$/);
    ok([
      'runs',
      'log',
      first,
      '--param',
      'depth=6',
      '--metric',
      'auc=0.91@1',
      '--metric',
      'auc=0.93@2',
      '--tag',
      'stage=dev',
    ]);
    ok(['runs', 'log', second, '--param', 'depth=8', '--metric', 'auc=0.88@1']);
    const shown = JSON.parse(ok(['runs', 'show', first, '--json'])) as {
      data: {
        metrics: { key: string; value: number; step: number }[];
        params: { key: string; value: string }[];
      };
    };
    expect(shown.data.metrics).toEqual([expect.objectContaining({ key: 'auc', value: 0.93, step: 2 })]);
    expect(shown.data.params).toEqual([{ key: 'depth', value: '6' }]);
    const history = JSON.parse(ok(['runs', 'history', first, 'auc', '--json'])) as {
      step: number;
      value: number;
    }[];
    expect(history.map((h) => [h.step, h.value])).toEqual([
      [1, 0.91],
      [2, 0.93],
    ]);
  });

  it('searches with an MLflow filter, compares, and ends a run', () => {
    const found = JSON.parse(
      ok(['runs', 'search', 'churn', '--filter', "metrics.auc > 0.9 and params.depth = '6'", '--json']),
    ) as {
      info: { run_id: string };
    }[];
    expect(found.map((r) => r.info.run_id)).toEqual([first]);
    const ordered = JSON.parse(ok(['runs', 'list', 'churn', '--order-by', 'metrics.auc ASC', '--json'])) as {
      info: { run_id: string };
    }[];
    expect(ordered.map((r) => r.info.run_id)).toEqual([second, first]);
    const cmp = ok(['runs', 'compare', first, second]);
    expect(cmp).toMatch(/metrics\.auc\s+0\.93\s+0\.88/);
    expect(cmp).toMatch(/params\.depth\s+6\s+8/);
    ok(['runs', 'end', first, '--status', 'FINISHED']);
    expect(JSON.parse(ok(['runs', 'show', first, '--json'])).info.status).toBe('FINISHED');
  });

  it('reports a malformed filter and a param change with MLflow codes, exit 1', () => {
    const bad = falaj(['runs', 'search', 'churn', '--filter', 'metrics.auc >']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('INVALID_PARAMETER_VALUE');
    expect(bad.stderr).toContain('position');
    const changed = falaj(['runs', 'log', first, '--param', 'depth=7']);
    expect(changed.code).toBe(1);
    expect(changed.stderr).toContain('INVALID_PARAMETER_VALUE');
    const noProject = falaj(['experiments', 'list'], '');
    expect(noProject.code).toBe(0); // FALAJ_PROJECT is set in env
    const missing = falaj(['experiments', 'list'], '', { FALAJ_PROJECT: '' });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('X-Falaj-Project');
  });
});
