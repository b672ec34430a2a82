// `falaj train --data NAME@N` on the dataset registry and `falaj lineage` against a real server
// (built dist): the version is read from the server, its input recorded on the run (MLflow input
// and lineage edge), a version that failed its suite refused before anything changes, a job
// trained with --submit reads the version too, and the chain printed as a tree. Each CLI call
// is a process of its own: the tests get minutes, not the default minute, on a loaded machine.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderLineageTree } from '../../src/cli/commands/lineage.js';
import { adultLikeCsv } from '../support/adult-like.js';
import { type CliSession, startCliSession } from '../support/cli-session.js';

let cli: CliSession;
const falaj = (args: string[]) => cli.falaj(args);
const ok = (args: string[]) => cli.ok(args);
const json = (args: string[]) => JSON.parse(ok([...args, '--json']));
let digest1 = '';
let runId = '';

beforeAll(async () => {
  cli = await startCliSession();
  const dir = cli.sb.dataDir;
  writeFileSync(path.join(dir, 'v1.csv'), adultLikeCsv(1000, 6));
  writeFileSync(path.join(dir, 'v2.csv'), adultLikeCsv(1500, 7));
  writeFileSync(
    path.join(dir, 'suite.json'),
    JSON.stringify({
      name: 'small',
      expectations: [
        { expectation_type: 'expect_table_row_count_to_be_between', kwargs: { max_value: 1200 } },
      ],
    }),
  );
  ok(['datasets', 'create', 'adult', '--suite', path.join(dir, 'suite.json')]);
  expect(ok(['datasets', 'add-version', 'adult', path.join(dir, 'v1.csv')])).toMatch(
    /^adult@1: 1000 rows.*passed/,
  );
  expect(falaj(['datasets', 'add-version', 'adult', path.join(dir, 'v2.csv')]).stdout).toMatch(
    /^adult@2: 1500 rows.*failed/,
  );
  digest1 = json(['datasets', 'show', 'adult']).versions.find(
    (v: { version: number }) => v.version === 1,
  ).digest;
  expect(digest1).toMatch(/^[0-9a-f]{64}$/);
}, 240_000);
afterAll(() => cli?.dispose());

const TRAIN = ['train', '--target', 'income', '--params', '{"nRounds":10}'];

describe('falaj train --data NAME@N', () => {
  it('reads the version from the server and records it as the run’s input, with its digest', () => {
    const out = path.join(cli.sb.dataDir, 'model');
    const res = falaj([...TRAIN, '--data', 'adult@1', '--experiment', 'income', '--out', out, '--json']);
    expect(res.code, res.stderr + res.stdout).toBe(0);
    const doc = JSON.parse(res.stdout);
    expect(doc.rows).toBe(1000);
    expect(doc.dataset).toEqual({ name: 'adult', version: 1, digest: digest1 });
    runId = doc.runId;
    const run = json(['runs', 'show', runId]);
    expect(run.info.status).toBe('FINISHED');
    expect(run.inputs.dataset_inputs).toEqual([
      expect.objectContaining({ dataset: expect.objectContaining({ name: 'adult', digest: digest1 }) }),
    ]);
    const graph = json(['lineage', 'run', runId]);
    expect(graph.edges).toEqual([
      expect.objectContaining({
        from: expect.objectContaining({ kind: 'dataset_version' }),
        to: { kind: 'run', id: runId },
        relation: 'input',
        attrs: { digest: digest1, rows: 1000 },
      }),
    ]);
    // Without a run (no --experiment) the version is read all the same; nothing is recorded.
    const text = ok([...TRAIN, '--data', 'adult@1']);
    expect(text).toMatch(/on 1000 rows/);
    expect(text).toContain(`data: adult@1 (sha256 ${digest1.slice(0, 12)})`);
  }, 240_000);

  it('refuses a version that failed its suite, as the API does, and changes nothing', () => {
    const before = {
      experiments: ok(['experiments', 'list', '--json']),
      runs: ok(['runs', 'list', 'income', '--json']),
      jobs: ok(['jobs', 'list', '--json']),
      lineage: ok(['lineage', 'dataset', 'adult@1', '--down', '--json']),
    };
    for (const args of [
      ['--data', 'adult@2', '--experiment', 'refused'],
      ['--data', 'adult', '--experiment', 'income'],
      ['--data', 'adult@latest', '--submit'],
    ]) {
      const res = falaj([...TRAIN, ...args, '--json']);
      expect(res.code, args.join(' ')).toBe(1);
      expect(JSON.parse(res.stdout).error).toEqual({
        code: 'FALAJ_DATA_NOT_USABLE',
        message:
          'adult@2 failed its validation suite: it cannot feed training until a new version passes or an admin overrides it',
        details: { dataset: 'adult', version: 2, status: 'failed' },
      });
    }
    const plain = falaj([...TRAIN, '--data', 'adult@2']);
    expect(plain.stderr).toMatch(/^error FALAJ_DATA_NOT_USABLE: adult@2 failed its validation suite/);
    expect({
      experiments: ok(['experiments', 'list', '--json']),
      runs: ok(['runs', 'list', 'income', '--json']),
      jobs: ok(['jobs', 'list', '--json']),
      lineage: ok(['lineage', 'dataset', 'adult@1', '--down', '--json']),
    }).toEqual(before);
    // A dataset or version that does not exist.
    expect(JSON.parse(falaj([...TRAIN, '--data', 'nope@1', '--json']).stdout).error.code).toBe(
      'FALAJ_NOT_FOUND',
    );
    expect(JSON.parse(falaj([...TRAIN, '--data', 'adult@9', '--json']).stdout).error.code).toBe(
      'FALAJ_NOT_FOUND',
    );
  }, 240_000);

  it('--submit passes the version to the job, which reads it; the job’s run has the input', async () => {
    const res = falaj([...TRAIN, '--data', 'adult@1', '--submit', '--json']);
    expect(res.code, res.stderr + res.stdout).toBe(0);
    const job = JSON.parse(res.stdout) as { id: string; runId: string };
    const shown = await cli.untilJob(job.id, ['succeeded', 'failed', 'cancelled'], 120);
    const logs = falaj(['jobs', 'logs', job.id]).stdout;
    expect(shown.state, `${shown.reason}\n${logs}`).toBe('succeeded');
    // The submitter recorded the input; the job found it there and did not try again.
    expect(logs).not.toContain('warning:');
    expect(shown.spec).toMatchObject({ command: expect.arrayContaining(['--data', 'adult@1']) });
    const run = json(['runs', 'show', job.runId]);
    expect(run.info.status).toBe('FINISHED');
    expect(run.data.params).toContainEqual({ key: 'rows', value: '1000' });
    expect(run.inputs.dataset_inputs).toHaveLength(1);
    const down = json(['lineage', 'job', job.id, '--down']);
    expect(
      down.edges.map((e: { relation: string; to: { kind: string } }) => `${e.relation}:${e.to.kind}`),
    ).toEqual(['produced:run']);
    const up = json(['lineage', 'run', job.runId]);
    expect(up.nodes.map((n: { kind: string; label: string }) => `${n.kind}:${n.label}`).sort()).toEqual(
      ['dataset_version:adult@1', `job:${shown.name}`, `run:${run.info.run_name}`].sort(),
    );
  }, 240_000);
});

describe('falaj lineage', () => {
  it('prints the chain from a model version to its data as a tree, and back down', () => {
    ok(['models', 'register', 'adult-model', '--run', runId]);
    const tree = ok(['lineage', 'model', 'adult-model@1']);
    expect(tree).toBe(
      [
        'model adult-model@1',
        `└─ run train-gbdt (${runId.slice(0, 12)})  [registered]`,
        `   └─ dataset adult@1  [input, sha256 ${digest1.slice(0, 12)}, 1000 rows]`,
        '',
      ].join('\n'),
    );
    const down = ok(['lineage', 'dataset', 'adult@1', '--down']);
    expect(down.split('\n')[0]).toBe('dataset adult@1');
    expect(down).toContain(
      `run train-gbdt (${runId.slice(0, 12)})  [input, sha256 ${digest1.slice(0, 12)}, 1000 rows]`,
    );
    expect(down).toMatch(/model adult-model@1 {2}\[registered\]/);
    expect(ok(['lineage', 'model', 'adult-model@1', '--depth', '1'])).not.toContain('dataset');
    const doc = json(['lineage', 'model', 'adult-model@1']);
    expect(doc.root).toMatchObject({ kind: 'model_version', label: 'adult-model@1' });
    expect(doc.edges).toHaveLength(2);
  }, 240_000);

  it('answers an unknown or malformed node with its stable code and exit 1', () => {
    const unknown = falaj(['lineage', 'model', 'nope@1']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^error FALAJ_LINEAGE_NODE_NOT_FOUND: lineage node 'model:nope@1'/);
    const asJson = falaj(['lineage', 'run', '0'.repeat(32), '--json']);
    expect(asJson.code).toBe(1);
    expect(JSON.parse(asJson.stdout).error.code).toBe('FALAJ_LINEAGE_NODE_NOT_FOUND');
    expect(JSON.parse(falaj(['lineage', 'model', 'adult-model', '--json']).stdout).error.code).toBe(
      'FALAJ_LINEAGE_NODE_INVALID',
    );
    expect(JSON.parse(falaj(['lineage', 'job', 'x', '--depth', '0', '--json']).stdout).error.code).toBe(
      'FALAJ_INVALID_ARGUMENT',
    );
  }, 240_000);

  it('prints a node met twice once, and says when the graph has no edges or goes on', () => {
    const n = (kind: string, id: string, label: string) => ({ kind, id, label });
    const e = (from: [string, string], to: [string, string], relation: string) => ({
      from: { kind: from[0], id: from[1] },
      to: { kind: to[0], id: to[1] },
      relation,
      attrs: {},
      createdAt: '2026-01-01T00:00:00.000Z',
    });
    const text = renderLineageTree({
      root: n('code', 'c', 'jobs/code/x.tar'),
      direction: 'down',
      depth: 20,
      nodes: [
        n('code', 'c', 'jobs/code/x.tar'),
        n('job', 'j1', 'a'),
        n('job', 'j2', 'b'),
        n('run', 'r', 'shared'),
      ],
      edges: [
        e(['code', 'c'], ['job', 'j1'], 'input'),
        e(['code', 'c'], ['job', 'j2'], 'input'),
        e(['job', 'j1'], ['run', 'r'], 'produced'),
        e(['job', 'j2'], ['run', 'r'], 'produced'),
      ],
      truncated: true,
    });
    expect(text).toBe(
      [
        'code jobs/code/x.tar',
        '├─ job a (j1)  [input]',
        '│  └─ run shared (r)  [produced]',
        '└─ job b (j2)  [input]',
        '   └─ run shared (r)  [produced] (shown above)',
        '… the graph goes on beyond the edge limit (use --depth, or --json)',
        '',
      ].join('\n'),
    );
    expect(
      renderLineageTree({
        root: n('run', 'r', 'lonely'),
        direction: 'up',
        depth: 20,
        nodes: [],
        edges: [],
        truncated: false,
      }),
    ).toBe('run lonely (r)\n(no recorded inputs)\n');
  });
});
