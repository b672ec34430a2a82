import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/dialects.js';
import { experimentAndRun, setupTracking, type TrackingTest } from './helpers.js';

const PROXY = '/api/2.0/mlflow-artifacts/artifacts';

// What an MLflow client does for a run whose artifact_uri is mlflow-artifacts:/<project>/...:
// PUT/GET <proxy>/<uri path>/<file>, GET <proxy>?path=<dir> to list.
describe.each(DIALECTS)('MLflow artifact proxy on %s', (dialect) => {
  let x: TrackingTest;
  let runId = '';
  let root = '';
  beforeAll(async () => {
    x = await setupTracking(dialect);
    ({ runId } = await experimentAndRun(x, 'artifacts'));
    const run = (await x.ml('GET', 'runs/get', { query: { run_id: runId } })).json().run;
    root = (run.info.artifact_uri as string).replace(/^mlflow-artifacts:\//, '');
    expect(root).toBe(`alpha/runs/${runId}/artifacts`);
  });
  afterAll(() => x.close());

  const put = (path: string, body: string, token = x.alpha) =>
    x.t.request('PUT', `${PROXY}/${path}`, {
      token,
      body,
      headers: { 'content-type': 'application/octet-stream' },
    });

  it('uploads, lists and downloads a run’s files as MLflow clients do', async () => {
    expect((await put(`${root}/model/MLmodel`, 'flavors: {}')).json()).toEqual({});
    expect((await put(`${root}/model/weights.bin`, 'x'.repeat(1000))).statusCode).toBe(200);
    expect((await put(`${root}/notes.txt`, 'hello')).statusCode).toBe(200);

    const top = await x.t.request('GET', `${PROXY}?path=${encodeURIComponent(root)}`, { token: x.alpha });
    expect(top.json()).toEqual({
      files: [
        { path: 'model', is_dir: true },
        { path: 'notes.txt', is_dir: false, file_size: 5 },
      ],
    });
    const model = await x.t.request('GET', `${PROXY}?path=${encodeURIComponent(`${root}/model`)}`, {
      token: x.alpha,
    });
    expect(model.json().files.map((f: { path: string }) => f.path)).toEqual(['MLmodel', 'weights.bin']);

    const got = await x.t.request('GET', `${PROXY}/${root}/model/MLmodel`, { token: x.viewer });
    expect(got.statusCode).toBe(200);
    expect(got.body).toBe('flavors: {}');

    // The tracking API's own listing sees the same files.
    const listed = await x.ml('GET', 'artifacts/list', { query: { run_id: runId, path: 'model' } });
    expect(listed.json().files).toEqual([
      { path: 'model/MLmodel', is_dir: false, file_size: 11 },
      { path: 'model/weights.bin', is_dir: false, file_size: 1000 },
    ]);
  });

  it('answers in MLflow’s error shape and keeps project permissions', async () => {
    const denied = await put(`${root}/x.txt`, 'no', x.viewer);
    expect(denied.statusCode).toBe(403);
    expect(denied.json().error_code).toBe('PERMISSION_DENIED');
    const foreign = await put(`beta/runs/${runId}/artifacts/x.txt`, 'no');
    expect(foreign.statusCode).toBe(403);
    const missing = await x.t.request('GET', `${PROXY}/${root}/nope.txt`, { token: x.alpha });
    expect(missing.json().error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    // The same path validation as /api/v1 (its socket-level traversal tests cover this code);
    // inject() resolves dot segments itself, so a backslash stands in for them here.
    const traversal = await put(`${root}/a%5C..%5Cx`, 'no');
    expect(traversal.statusCode).toBe(400);
    const otherList = await x.t.request('GET', `${PROXY}?path=beta/runs`, { token: x.alpha });
    expect(otherList.json().error_code).toBe('INVALID_PARAMETER_VALUE');
    expect((await x.t.request('DELETE', `${PROXY}/${root}/notes.txt`, { token: x.alpha })).json()).toEqual(
      {},
    );
    const after = await x.t.request('GET', `${PROXY}?path=${encodeURIComponent(root)}`, { token: x.alpha });
    expect(after.json().files.map((f: { path: string }) => f.path)).toEqual(['model']);
  });
});
