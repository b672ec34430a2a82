// `falaj train` and `falaj predict` end to end: a CSV in, a model directory out, predictions
// from it, and the training logged to a real server (a run, and one nested run per trial).
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adultLikeCsv } from '../support/adult-like.js';
import { type CliSession, startCliSession } from '../support/cli-session.js';

let cli: CliSession;
let csv = '';
const falaj = (args: string[], input = '') => cli.falaj(args, input);

beforeAll(async () => {
  cli = await startCliSession();
  csv = path.join(cli.sb.dataDir, 'adult.csv');
  writeFileSync(csv, adultLikeCsv(2000, 9));
});
afterAll(() => cli?.dispose());

describe('falaj train and predict', () => {
  it('prints one JSON document with honest metrics, writes the model, and logs runs and trials', () => {
    const out = path.join(cli.sb.dataDir, 'model');
    const res = falaj([
      'train',
      '--data',
      csv,
      '--target',
      'income',
      '--cv',
      '3',
      '--tune',
      '3',
      '--sampler',
      'random',
      '--params',
      '{"nRounds":30}',
      '--out',
      out,
      '--experiment',
      'income',
      '--json',
    ]);
    expect(res.code, res.stderr + res.stdout).toBe(0);
    const doc = JSON.parse(res.stdout);
    expect(doc.metrics.auc).toBeGreaterThan(0.8);
    expect(doc.validation.k).toBe(3);
    expect(doc.tuning.trials).toBe(3);
    expect(existsSync(path.join(out, 'model.onnx'))).toBe(true);

    const listed = JSON.parse(falaj(['runs', 'list', 'income', '--json']).stdout) as {
      info: { run_id: string };
    }[];
    const runs = listed.map((r) => ({ run_id: r.info.run_id }));
    expect(runs).toHaveLength(4);
    const parent = JSON.parse(falaj(['runs', 'show', doc.runId, '--json']).stdout);
    expect(parent.data.metrics.map((m: { key: string }) => m.key)).toContain('auc');
    const children = runs.filter((r) => r.run_id !== doc.runId);
    for (const c of children) {
      const shown = falaj(['runs', 'show', c.run_id, '--json']);
      const child = JSON.parse(shown.stdout);
      expect(child.data?.tags, shown.stdout).toBeDefined();
      expect(child.data.tags).toContainEqual({ key: 'mlflow.parentRunId', value: doc.runId });
    }
    const artifacts = falaj([
      'artifacts',
      'list',
      'ml',
      '--prefix',
      `runs/${doc.runId}/artifacts/model/`,
      '--json',
    ]);
    expect(artifacts.stdout, artifacts.stderr).toContain('model.onnx');

    const pred = falaj(['predict', '--model', out, '--data', csv]);
    expect(pred.code, pred.stderr).toBe(0);
    const lines = pred.stdout.trim().split('\n');
    expect(lines[0]).toBe('prediction,p_<=50K,p_>50K');
    expect(lines).toHaveLength(2001);
  });

  it('--submit runs the same training as a job that logs into the job’s run', async () => {
    const res = falaj([
      'train',
      '--data',
      csv,
      '--target',
      'income',
      '--params',
      '{"nRounds":10}',
      '--submit',
      '--json',
    ]);
    expect(res.code, res.stderr + res.stdout).toBe(0);
    const job = JSON.parse(res.stdout) as { id: string; runId: string };
    const deadline = Date.now() + 90_000;
    let state = '';
    let reason = '';
    while (Date.now() < deadline) {
      const shown = JSON.parse(falaj(['jobs', 'show', job.id, '--json']).stdout);
      state = shown.state;
      reason = shown.reason;
      if (['succeeded', 'failed', 'cancelled'].includes(state)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(state, `${reason}\n${falaj(['jobs', 'logs', job.id]).stdout}`).toBe('succeeded');
    const run = JSON.parse(falaj(['runs', 'show', job.runId, '--json']).stdout);
    expect(run.info.status).toBe('FINISHED');
    expect(run.data.metrics.map((m: { key: string }) => m.key)).toContain('auc');
    const files = falaj([
      'artifacts',
      'list',
      'ml',
      '--prefix',
      `runs/${job.runId}/artifacts/model/`,
      '--json',
    ]);
    expect(files.stdout).toContain('model.onnx');
  });

  it('--tune N --trial-jobs K runs each trial as a job, nested under a study run', () => {
    const res = falaj([
      'train',
      '--data',
      csv,
      '--target',
      'income',
      '--tune',
      '3',
      '--trial-jobs',
      '2',
      '--sampler',
      'random',
      '--params',
      '{"nRounds":10}',
      '--experiment',
      'study',
      '--json',
    ]);
    expect(res.code, res.stderr + res.stdout).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out).toMatchObject({ trials: 3, complete: 3 });
    expect(out.bestValue).toBeGreaterThan(0);
    expect(out.bestParams).toHaveProperty('learningRate');
    const listed = JSON.parse(falaj(['runs', 'list', 'study', '--json']).stdout) as {
      info: { run_id: string };
      data: { tags?: { key: string; value: string }[] };
    }[];
    const children = listed.filter((r) =>
      r.data.tags?.some((t) => t.key === 'mlflow.parentRunId' && t.value === out.studyRunId),
    );
    expect(children).toHaveLength(3);
    // Each trial job trained with its own params (given in its environment) and kept the fixed ones.
    const params = children.map((c) => {
      const run = JSON.parse(falaj(['runs', 'show', c.info.run_id, '--json']).stdout);
      return Object.fromEntries(
        (run.data.params as { key: string; value: string }[]).map((p) => [p.key, p.value]),
      );
    });
    expect(new Set(params.map((p) => p.learningRate)).size).toBe(3);
    for (const p of params) expect(p.nRounds).toBe('10');
    const jobs = JSON.parse(falaj(['jobs', 'list', '--json']).stdout) as { name: string; state: string }[];
    expect(jobs.filter((j) => j.name.startsWith('trial-')).every((j) => j.state === 'succeeded')).toBe(true);
  });

  it('answers bad input with a stable code and exit 1', () => {
    const missing = falaj(['train', '--data', csv, '--target', 'nope', '--json']);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout).error.code).toBe('FALAJ_DATA_INVALID');
    const badParams = falaj(['train', '--data', csv, '--target', 'income', '--params', '{oops', '--json']);
    expect(JSON.parse(badParams.stdout).error.code).toBe('FALAJ_INVALID_ARGUMENT');
    const badModel = falaj(['predict', '--model', cli.sb.dataDir, '--data', csv, '--json']);
    expect(JSON.parse(badModel.stdout).error.code).toBe('FALAJ_MODEL_INVALID');
  });
});
