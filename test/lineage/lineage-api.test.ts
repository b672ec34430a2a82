// Lineage end to end through the API, both dialects: server-side training from a dataset version
// records dataset_version → run (and the run's dataset input) in the run's transaction; a
// registered model walks up to it; a job with a code snapshot records code → job → run, and the
// snapshot it actually unpacks at launch; a run's input recorded by a client through the gate;
// the graph answered with human labels; unknown and malformed nodes refused with stable codes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/core/ids.js';
import { packFolder } from '../../src/jobs/code-snapshot.js';
import { jobsRuntime } from '../../src/jobs/module.js';
import { type StoredEdge, walk } from '../../src/lineage/lineage-store.js';
import { API_TOKEN_PREFIX, newSecretToken, sha256Hex } from '../../src/security/secrets/secrets.js';
import { trainingRuntime } from '../../src/trainer/module.js';
import { adultLikeCsv } from '../support/adult-like.js';
import { DIALECTS } from '../support/dialects.js';
import { setupTracking, type TrackingTest } from '../tracking/helpers.js';

const P = '/api/v1/projects/alpha';
const NODE = process.execPath;

interface Graph {
  root: { kind: string; id: string; label: string };
  direction: string;
  nodes: { kind: string; id: string; label: string }[];
  edges: {
    from: { kind: string; id: string };
    to: { kind: string; id: string };
    relation: string;
    attrs: Record<string, unknown>;
  }[];
  truncated: boolean;
}

describe.each(DIALECTS)('lineage on %s', (dialect) => {
  let x: TrackingTest;
  let projectId: string;
  let tmp: string;
  const versionIds: Record<number, string> = {};
  const digests: Record<number, string> = {};
  let trainedRun = '';

  beforeAll(async () => {
    x = await setupTracking(dialect);
    tmp = mkdtempSync(path.join(os.tmpdir(), 'falaj-lineage-'));
    projectId = (
      await x.t.svc.store.db
        .selectFrom('projects')
        .select('id')
        .where('name', '=', 'alpha')
        .executeTakeFirstOrThrow()
    ).id;
    // A dataset whose suite admits at most 1200 rows: v1 (1000 rows) passes, v2 (1500) fails.
    const suite = {
      name: 'small',
      expectations: [
        { expectation_type: 'expect_table_row_count_to_be_between', kwargs: { max_value: 1200 } },
      ],
    };
    const created = await x.t.request('POST', `${P}/datasets`, {
      token: x.alpha,
      body: { name: 'adult', suite },
    });
    expect(created.statusCode, created.body).toBe(201);
    for (const [n, rows] of [
      [1, 1000],
      [2, 1500],
    ] as const) {
      const res = await x.t.request('POST', `${P}/datasets/adult/versions?fileName=adult.csv`, {
        token: x.alpha,
        body: adultLikeCsv(rows, n),
        headers: { 'content-type': 'text/csv' },
      });
      expect(res.statusCode, res.body).toBe(201);
      const v = (await x.t.request('GET', `${P}/datasets/adult/versions/${n}`, { token: x.alpha })).json();
      digests[n] = v.digest;
      const row = await x.t.svc.store.db
        .selectFrom('data_versions')
        .select('id')
        .where('digest', '=', v.digest)
        .executeTakeFirstOrThrow();
      versionIds[n] = row.id;
    }
  });
  afterAll(async () => {
    await x?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const edgeCount = async () =>
    Number(
      (
        await x.t.svc.store.db
          .selectFrom('lineage_edges')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  const lineage = (query: Record<string, string>, token = x.alpha) =>
    x.t.request('GET', `${P}/lineage?${new URLSearchParams(query).toString()}`, { token });
  const graph = async (query: Record<string, string>): Promise<Graph> => {
    const res = await lineage(query);
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };
  const labels = (g: Graph) => Object.fromEntries(g.nodes.map((n) => [`${n.kind}:${n.id}`, n.label]));
  const brief = (edges: StoredEdge[]) => edges.map((e) => `${e.from.kind} -${e.relation}-> ${e.to.kind}`);

  it('server training from a dataset version records dataset_version → run with its digest and rows', async () => {
    const res = await x.t.request('POST', `${P}/training`, {
      token: x.alpha,
      body: { dataset: 'adult@1', target: 'income', params: { nRounds: 10 }, runName: 'adult-gbdt' },
    });
    expect(res.statusCode, res.body).toBe(202);
    trainedRun = res.json().runId;
    // Recorded with the run, before the training ends.
    const up = await walk(x.t.svc.store.db, projectId, { kind: 'run', id: trainedRun }, 'up');
    expect(up).toEqual([
      expect.objectContaining({
        from: { kind: 'dataset_version', id: versionIds[1] },
        to: { kind: 'run', id: trainedRun },
        relation: 'input',
        attrs: { digest: digests[1], rows: 1000 },
      }),
    ]);
    await trainingRuntime(x.t.app).trainer.idle();
    const run = (await x.ml('GET', 'runs/get', { query: { run_id: trainedRun } })).json().run;
    expect(run.info.status).toBe('FINISHED');
    expect(run.inputs.dataset_inputs).toEqual([
      {
        tags: [{ key: 'mlflow.data.context', value: 'training' }],
        dataset: expect.objectContaining({ name: 'adult', digest: digests[1], source_type: 'falaj-dataset' }),
      },
    ]);

    // A version that failed its suite is refused, and nothing is recorded.
    const before = await edgeCount();
    const refused = await x.t.request('POST', `${P}/training`, {
      token: x.alpha,
      body: { dataset: 'adult@2', target: 'income' },
    });
    expect(refused.json().error.code).toBe('FALAJ_DATA_NOT_USABLE');
    expect(await edgeCount()).toBe(before);
  });

  it('a project file as training data records file → run', async () => {
    const put = await x.t.request('PUT', `${P}/artifacts/files/data/adult.csv`, {
      token: x.alpha,
      body: adultLikeCsv(300, 3),
      headers: { 'content-type': 'text/csv' },
    });
    expect(put.statusCode, put.body).toBe(201);
    const res = await x.t.request('POST', `${P}/training`, {
      token: x.alpha,
      body: { data: 'data/adult.csv', target: 'income', params: { nRounds: 5 } },
    });
    expect(res.statusCode, res.body).toBe(202);
    await trainingRuntime(x.t.app).trainer.idle();
    const up = await walk(x.t.svc.store.db, projectId, { kind: 'run', id: res.json().runId }, 'up');
    expect(up).toEqual([
      expect.objectContaining({
        from: { kind: 'file', id: put.json().digest },
        relation: 'input',
        attrs: { digest: put.json().digest, path: 'data/adult.csv' },
      }),
    ]);
  });

  it('walks a registered model up to its dataset version, with human labels, and back down', async () => {
    const reg = await x.t.request('POST', `${P}/models/adult-model/versions`, {
      token: x.alpha,
      body: { run_id: trainedRun },
    });
    expect(reg.statusCode, reg.body).toBe(201);
    const alias = await x.t.request('PUT', `${P}/models/adult-model/aliases/champion`, {
      token: x.alpha,
      body: { version: 1 },
    });
    expect(alias.statusCode, alias.body).toBe(200);
    for (const node of ['model:adult-model@1', 'model:models:/adult-model/1', 'model:adult-model@latest']) {
      const g = await graph({ node });
      expect(g.root).toMatchObject({ kind: 'model_version', label: 'adult-model@1' });
      expect(g.direction).toBe('up');
      expect(labels(g)).toEqual({
        [`model_version:${g.root.id}`]: 'adult-model@1',
        [`run:${trainedRun}`]: 'adult-gbdt',
        [`dataset_version:${versionIds[1]}`]: 'adult@1',
      });
      expect(g.edges.map((e) => `${e.from.kind}:${e.from.id} -${e.relation}-> ${e.to.kind}`)).toEqual([
        `run:${trainedRun} -registered-> model_version`,
        `dataset_version:${versionIds[1]} -input-> run`,
      ]);
      expect(g.edges[1]?.attrs).toEqual({ digest: digests[1], rows: 1000 });
    }
    expect((await graph({ node: 'model:adult-model@champion' })).root.label).toBe('adult-model@1');

    // One step only.
    expect((await graph({ node: 'model:adult-model@1', depth: '1' })).edges).toHaveLength(1);
    // Down from the dataset version: the run, then the model version.
    const down = await graph({ node: 'dataset:adult@1', direction: 'down' });
    expect(down.root).toEqual({ kind: 'dataset_version', id: versionIds[1], label: 'adult@1' });
    expect(down.nodes.map((n) => n.label)).toEqual(['adult@1', 'adult-gbdt', 'adult-model@1']);
    // The stored ids name the same nodes; viewers read the graph.
    const byId = await lineage({ node: `dataset_version:${versionIds[1]}`, direction: 'down' }, x.viewer);
    expect(byId.statusCode).toBe(200);
    expect(byId.json().edges).toEqual(down.edges);
  });

  it('a job with a code snapshot records code → job → run, and the snapshot it unpacks at launch', async () => {
    const tarOf = async (name: string, text: string) => {
      const dir = mkdtempSync(path.join(tmp, 'code-'));
      writeFileSync(path.join(dir, name), text);
      const tar = path.join(tmp, `${name}.tar`);
      await packFolder(dir, tar);
      return readFile(tar);
    };
    const putTar = async (bytes: Buffer) => {
      const res = await x.t.request('PUT', `${P}/artifacts/files/jobs/code/snap.tar`, {
        token: x.alpha,
        body: bytes,
        headers: { 'content-type': 'application/x-tar' },
      });
      expect(res.statusCode, res.body).toBeLessThan(300);
      return res.json().digest as string;
    };
    const first = await putTar(await tarOf('a.txt', 'first'));
    const submitted = await x.t.request('POST', `${P}/jobs`, {
      token: x.alpha,
      body: {
        spec: {
          name: 'snap-job',
          command: [NODE, '-e', 'process.exit(0)'],
          code: { artifact: 'jobs/code/snap.tar' },
          resources: { cpu: 1, memory: '64Mi' },
        },
      },
    });
    expect(submitted.statusCode, submitted.body).toBe(201);
    const job = submitted.json() as { id: string; runId: string };
    const db = x.t.svc.store.db;
    expect(brief(await walk(db, projectId, { kind: 'run', id: job.runId }, 'up'))).toEqual([
      'job -produced-> run',
      'code -input-> job',
    ]);
    const g = await graph({ node: `run:${job.runId}` });
    expect(labels(g)).toEqual({
      [`run:${job.runId}`]: 'snap-job',
      [`job:${job.id}`]: 'snap-job',
      [`code:${first}`]: 'jobs/code/snap.tar',
    });
    expect(g.edges.find((e) => e.from.kind === 'code')?.attrs).toEqual({
      digest: first,
      artifact: 'jobs/code/snap.tar',
    });
    const fromCode = await graph({ node: `code:${first}`, direction: 'down' });
    expect(fromCode.nodes.map((n) => n.kind)).toEqual(['code', 'job', 'run']);
    expect((await graph({ node: `job:${job.id}` })).nodes.map((n) => n.kind)).toEqual(['job', 'code']);

    // The path now names another snapshot: the one unpacked at launch is recorded too.
    const second = await putTar(await tarOf('b.txt', 'second'));
    const deadline = Date.now() + 30_000;
    for (;;) {
      await jobsRuntime(x.t.app).scheduler.pass();
      const state = (await x.t.request('GET', `${P}/jobs/${job.id}`, { token: x.alpha })).json().state;
      if (['succeeded', 'failed'].includes(state)) break;
      if (Date.now() > deadline) throw new Error(`job still ${state}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const codes = (await walk(db, projectId, { kind: 'job', id: job.id }, 'up')).map((e) => e.from.id);
    expect(codes.sort()).toEqual([first, second].sort());
  });

  it("records a client's dataset input on a run through the gate, once; refuses and changes nothing otherwise", async () => {
    const e = await x.ml('POST', 'experiments/create', { body: { name: 'cli-like' } });
    const runId = (
      await x.ml('POST', 'runs/create', { body: { experiment_id: e.json().experiment_id } })
    ).json().run.info.run_id as string;
    const record = (body: unknown, token = x.alpha, run = runId) =>
      x.t.request('POST', `${P}/runs/${run}/inputs`, { token, body });
    const ok = await record({ dataset: 'adult', version: 1 });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toEqual({ runId, dataset: 'adult', version: 1, digest: digests[1], rows: 1000 });
    const edges = await edgeCount();
    expect((await record({ dataset: 'adult', version: 1 })).statusCode).toBe(200);
    expect(await edgeCount()).toBe(edges);
    const run = (await x.ml('GET', 'runs/get', { query: { run_id: runId } })).json().run;
    expect(run.inputs.dataset_inputs).toHaveLength(1);

    const before = { edges: await edgeCount(), tracking: await x.counts() };
    const refused = await record({ dataset: 'adult', version: 'latest' });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error).toMatchObject({
      code: 'FALAJ_DATA_NOT_USABLE',
      details: { dataset: 'adult', version: 2, status: 'failed' },
    });
    expect((await record({ dataset: 'nope', version: 1 })).json().error.code).toBe('FALAJ_NOT_FOUND');
    expect((await record({ dataset: 'adult', version: 9 })).json().error.code).toBe('FALAJ_NOT_FOUND');
    expect((await record({ dataset: 'adult', version: 1 }, x.alpha, '0'.repeat(32))).statusCode).toBe(404);
    expect((await record({ dataset: 'adult', version: 0 })).json().error.code).toBe('FALAJ_VALIDATION');
    expect((await record({ dataset: 'adult', version: 1 }, x.viewer)).statusCode).toBe(403);
    // A run of another project is not found from this one.
    const be = await x.ml('POST', 'experiments/create', { body: { name: 'b' }, token: x.beta });
    const betaRun = (
      await x.ml('POST', 'runs/create', { body: { experiment_id: be.json().experiment_id }, token: x.beta })
    ).json().run.info.run_id as string;
    expect((await record({ dataset: 'adult', version: 1 }, x.alpha, betaRun)).statusCode).toBe(404);
    // A job's token (run-scoped) may not record on another run.
    const other = (
      await x.ml('POST', 'runs/create', { body: { experiment_id: e.json().experiment_id } })
    ).json().run.info.run_id as string;
    const jobToken = newSecretToken(API_TOKEN_PREFIX);
    const now = x.t.clock.now();
    await x.t.svc.store.db
      .insertInto('api_tokens')
      .values({
        id: newId(),
        name: 'job:x#1',
        token_hash: sha256Hex(jobToken),
        user_id: (
          await x.t.svc.store.db
            .selectFrom('users')
            .select('id')
            .where('username', '=', 'admin')
            .executeTakeFirstOrThrow()
        ).id,
        project_id: projectId,
        role: 'editor',
        created_at: now,
        expires_at: now + 3600_000,
        revoked_at: null,
        last_used_at: null,
        run_id: other,
      })
      .execute();
    const foreign = await record({ dataset: 'adult', version: 1 }, jobToken, runId);
    expect(foreign.statusCode).toBe(403);
    expect(foreign.json().error.code).toBe('FALAJ_FORBIDDEN');
    const after = await x.counts();
    expect(await edgeCount()).toBe(before.edges);
    expect({ ...after, audit_events: 0, runs: 0, experiments: 0, run_tags: 0 }).toEqual({
      ...before.tracking,
      audit_events: 0,
      runs: 0,
      experiments: 0,
      run_tags: 0,
    });
    // A job's token records on its own run (what `falaj train --data NAME@N` does inside a job).
    const own = await record({ dataset: 'adult', version: 1 }, jobToken, other);
    expect(own.statusCode, own.body).toBe(200);
  });

  it('refuses unknown and malformed nodes with stable codes', async () => {
    const err = async (node: string, token = x.alpha) => {
      const res = await lineage({ node }, token);
      return {
        status: res.statusCode,
        ...(res.json().error as { code: string; details?: { cause?: string } }),
      };
    };
    expect(await err('model:nope@1')).toMatchObject({
      status: 404,
      code: 'FALAJ_LINEAGE_NODE_NOT_FOUND',
      details: { cause: 'FALAJ_MODEL_NOT_FOUND' },
    });
    expect(await err('model:adult-model@9')).toMatchObject({
      code: 'FALAJ_LINEAGE_NODE_NOT_FOUND',
      details: { cause: 'FALAJ_MODEL_VERSION_NOT_FOUND' },
    });
    expect(await err('model:adult-model@staging')).toMatchObject({
      code: 'FALAJ_LINEAGE_NODE_NOT_FOUND',
      details: { cause: 'FALAJ_ALIAS_NOT_FOUND' },
    });
    for (const node of [
      'dataset:adult@7',
      'dataset:nope',
      `run:${'0'.repeat(32)}`,
      'run:not-an-id',
      `job:${'0'.repeat(32)}`,
      `code:${'f'.repeat(64)}`,
      `model_version:${'0'.repeat(32)}`,
      `dataset_version:${'0'.repeat(32)}`,
    ])
      expect(await err(node), node).toMatchObject({ status: 404, code: 'FALAJ_LINEAGE_NODE_NOT_FOUND' });
    for (const node of ['adult', 'bogus:1', 'model:', 'model:adult-model', 'dataset:adult@two', ':x'])
      expect(await err(node), node).toMatchObject({ status: 400, code: 'FALAJ_LINEAGE_NODE_INVALID' });
    // Another project's run is unknown here; another project's token is refused.
    const be = await x.ml('POST', 'experiments/create', { body: { name: 'b2' }, token: x.beta });
    const betaRun = (
      await x.ml('POST', 'runs/create', { body: { experiment_id: be.json().experiment_id }, token: x.beta })
    ).json().run.info.run_id as string;
    expect(await err(`run:${betaRun}`)).toMatchObject({ status: 404, code: 'FALAJ_LINEAGE_NODE_NOT_FOUND' });
    expect((await lineage({ node: 'dataset:adult@1' }, x.beta)).statusCode).toBe(403);
    expect((await lineage({ node: 'dataset:adult@1', depth: '0' })).json().error.code).toBe(
      'FALAJ_VALIDATION',
    );
    expect((await lineage({ node: 'dataset:adult@1', direction: 'sideways' })).json().error.code).toBe(
      'FALAJ_VALIDATION',
    );
  });
});
