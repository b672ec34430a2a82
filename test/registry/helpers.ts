// A server in process with two projects and tokens of every role on `alpha`, and helpers for
// MLflow's registry API (GET fields in the query, the rest in a JSON body).
import type { LightMyRequestResponse } from 'fastify';
import { exportOnnx } from '../../src/training/onnx/index.js';
import { createTestContext, type TestContext } from '../support/app.js';
import type { DialectName } from '../support/dialects.js';
import { gbdtState } from '../training/onnx/states.js';

export const ML = '/api/2.0/mlflow';

export type Role = 'viewer' | 'editor' | 'maintainer' | 'admin';

export interface RegistryTest {
  t: TestContext;
  /** API tokens on `alpha`, one per role. */
  tokens: Record<Role, string>;
  /** An admin token on `beta`. */
  beta: string;
  ml(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    path: string,
    opts?: { token?: string; body?: unknown; query?: Record<string, string | string[]> },
  ): Promise<LightMyRequestResponse>;
  /** A run in the project of `token` (default alpha admin), optionally with files under artifacts/. */
  run(opts?: {
    token?: string;
    files?: Record<string, Uint8Array | string>;
    project?: string;
  }): Promise<string>;
  /** Row counts of the registry's tables, the lineage edges and the artifact rows. */
  counts(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

const TABLES = [
  'registered_models',
  'registered_model_tags',
  'model_versions',
  'model_version_tags',
  'model_aliases',
  'lineage_edges',
  'artifacts',
] as const;

/** A small binary classifier exported by Falaj's own ONNX exporter: input x (double), outputs probabilities and label. */
export function falajOnnx(): Uint8Array {
  return exportOnnx(
    gbdtState({
      task: 'binary',
      classes: ['n', 'y'],
      features: [
        { name: 'x', kind: 'numeric' },
        { name: 'colour', kind: 'categorical', categories: ['red', 'blue'] },
      ],
      baseScore: [0.5],
      trees: [
        [
          { feature: 0, threshold: 0, left: 1, right: 2 },
          { feature: -1, value: -2 },
          { feature: -1, value: 1 },
        ],
      ],
    }),
  );
}

export async function setupRegistry(dialect: DialectName): Promise<RegistryTest> {
  const t = await createTestContext(dialect);
  for (const name of ['alpha', 'beta']) {
    const res = await t.request('POST', '/api/v1/projects', { token: t.adminToken, body: { name } });
    if (res.statusCode !== 201) throw new Error(`project: ${res.statusCode} ${res.body}`);
  }
  const token = async (project: string, role: Role) => {
    const res = await t.request('POST', `/api/v1/projects/${project}/tokens`, {
      token: t.adminToken,
      body: { name: `${project}-${role}`, role },
    });
    if (res.statusCode !== 201) throw new Error(`token: ${res.statusCode} ${res.body}`);
    return (res.json() as { token: string }).token;
  };
  const tokens = {
    viewer: await token('alpha', 'viewer'),
    editor: await token('alpha', 'editor'),
    maintainer: await token('alpha', 'maintainer'),
    admin: await token('alpha', 'admin'),
  };
  const beta = await token('beta', 'admin');
  const ml: RegistryTest['ml'] = (method, path, opts = {}) => {
    let url = `${ML}/${path}`;
    if (opts.query) {
      const qs = new URLSearchParams();
      for (const [k, v] of Object.entries(opts.query)) for (const one of [v].flat()) qs.append(k, one);
      url += `?${qs.toString()}`;
    }
    return t.app.inject({
      method,
      url,
      headers: opts.token === '' ? {} : { authorization: `Bearer ${opts.token ?? tokens.admin}` },
      ...(opts.body !== undefined ? { payload: opts.body as object } : {}),
    });
  };
  const experiments = new Map<string, string>();
  return {
    t,
    tokens,
    beta,
    ml,
    async run(opts = {}) {
      const tok = opts.token ?? tokens.admin;
      let experimentId = experiments.get(tok);
      if (!experimentId) {
        const e = await ml('POST', 'experiments/create', { token: tok, body: { name: 'registry-tests' } });
        if (e.statusCode !== 200) throw new Error(`experiment: ${e.statusCode} ${e.body}`);
        experimentId = (e.json() as { experiment_id: string }).experiment_id;
        experiments.set(tok, experimentId);
      }
      const r = await ml('POST', 'runs/create', { token: tok, body: { experiment_id: experimentId } });
      if (r.statusCode !== 200) throw new Error(`run: ${r.statusCode} ${r.body}`);
      const runId = (r.json() as { run: { info: { run_id: string } } }).run.info.run_id;
      for (const [file, bytes] of Object.entries(opts.files ?? {})) {
        const put = await t.app.inject({
          method: 'PUT',
          url: `/api/v1/projects/${opts.project ?? 'alpha'}/artifacts/files/runs/${runId}/artifacts/${file}`,
          headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/octet-stream' },
          payload: Buffer.from(bytes),
        });
        if (put.statusCode >= 300) throw new Error(`artifact: ${put.statusCode} ${put.body}`);
      }
      return runId;
    },
    async counts() {
      const out: Record<string, number> = {};
      for (const table of TABLES) {
        const row = await t.svc.store.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow();
        out[table] = Number(row.n);
      }
      return out;
    },
    close: () => t.close(),
  };
}

/** `{error_code, message}` of an MLflow error response. */
export function mlError(res: LightMyRequestResponse): {
  status: number;
  error_code: string;
  message: string;
} {
  const body = res.json() as { error_code: string; message: string };
  return { status: res.statusCode, error_code: body.error_code, message: body.message };
}
