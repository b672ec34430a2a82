// `falaj models ...` end to end against a real server: a model trained with `falaj train`
// (logged to a run) registered from the run, the ONNX file the trainer exported registered as
// an upload, aliases, show and list, and the errors the CLI prints.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adultLikeCsv } from '../support/adult-like.js';
import { type CliSession, startCliSession } from '../support/cli-session.js';

let cli: CliSession;
let runId = '';
let modelDir = '';

beforeAll(async () => {
  cli = await startCliSession();
  const csv = path.join(cli.sb.dataDir, 'adult.csv');
  writeFileSync(csv, adultLikeCsv(600, 3));
  modelDir = path.join(cli.sb.dataDir, 'trained');
  const out = cli.ok([
    'train',
    '--data',
    csv,
    '--target',
    'income',
    '--params',
    '{"nRounds":10}',
    '--out',
    modelDir,
    '--experiment',
    'income',
    '--json',
  ]);
  runId = JSON.parse(out).runId as string;
}, 180_000);
afterAll(() => cli?.dispose());

describe('falaj models', () => {
  it('registers a model trained with falaj train from its run, with the signature of its ONNX graph', () => {
    const v = JSON.parse(
      cli.ok(['models', 'register', 'income', '--run', runId, '--tag', 'team=risk', '--json']),
    );
    expect(v).toMatchObject({
      name: 'income',
      version: 1,
      run_id: runId,
      format: 'falaj',
      artifact_path: `runs/${runId}/artifacts/model`,
      tags: { team: 'risk' },
    });
    const inputs = (v.signature.inputs as { name: string }[]).map((i) => i.name);
    expect(inputs).toContain('age');
    expect(inputs).not.toContain('income');
    expect(cli.ok(['models', 'register', 'income', '--run', runId])).toContain(
      'registered income@2 (models:/income/2)',
    );
  });

  it('registers the ONNX file the trainer exported (--file)', () => {
    const v = JSON.parse(
      cli.ok(['models', 'register', 'income-onnx', '--file', path.join(modelDir, 'model.onnx'), '--json']),
    );
    expect(v).toMatchObject({ name: 'income-onnx', version: 1, format: 'onnx', run_id: null });
    expect((v.signature.inputs as { name: string }[]).map((i) => i.name)).toContain('age');
  });

  it('aliases, show NAME, show NAME@ALIAS, versions, list', () => {
    expect(cli.ok(['models', 'alias', 'income', 'champion', '1'])).toContain('income@champion -> version 1');
    expect(cli.ok(['models', 'alias', 'income', 'champion', '2'])).toContain('(was 1)');
    const shown = JSON.parse(cli.ok(['models', 'show', 'income@champion', '--json']));
    expect(shown).toMatchObject({ version: 2, aliases: ['champion'] });
    expect(JSON.parse(cli.ok(['models', 'show', 'income@1', '--json'])).version).toBe(1);
    expect(cli.ok(['models', 'show', 'income@champion'])).toContain('inputs: ');
    const model = JSON.parse(cli.ok(['models', 'show', 'income', '--json']));
    expect(model.versions.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    expect(model.aliases).toEqual({ champion: 2 });
    const table = cli.ok(['models', 'versions', 'income']);
    expect(table.split('\n')[0]).toMatch(/^VERSION\s+ALIASES\s+FORMAT/);
    const list = JSON.parse(cli.ok(['models', 'list', '--json']));
    expect(list.map((m: { name: string }) => m.name)).toEqual(['income', 'income-onnx']);
    expect(cli.ok(['models', 'alias', 'income', 'champion', '--delete'])).toContain('removed alias champion');
  });

  it('errors print their stable code and exit 1', () => {
    const prod = cli.falaj(['models', 'alias', 'income', 'production', '1']);
    expect(prod.code).toBe(1);
    expect(prod.stderr).toContain('error FALAJ_ALIAS_PROTECTED');
    expect(prod.stderr).toContain('falaj models promote income@1 --alias production');
    const bad = path.join(cli.sb.dataDir, 'not.onnx');
    writeFileSync(bad, 'definitely not a protobuf');
    const onnx = cli.falaj(['models', 'register', 'junk', '--file', bad, '--json']);
    expect(onnx.code).toBe(1);
    expect(JSON.parse(onnx.stdout).error.code).toBe('FALAJ_ONNX_INVALID');
    expect(cli.falaj(['models', 'show', 'junk']).stderr).toContain('FALAJ_MODEL_NOT_FOUND');
    expect(cli.falaj(['models', 'show', 'income@9']).stderr).toContain('FALAJ_MODEL_VERSION_NOT_FOUND');
    expect(cli.falaj(['models', 'register', 'x']).stderr).toContain('give one of --run RUN_ID or --file');
  });
});
