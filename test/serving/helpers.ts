// A server in process (test/registry/staging/helpers.ts: project alpha, four people, datasets,
// models trained by the server trainer) with serving helpers: V2 and MLflow requests to a
// deployment, and the deployments API.
import type { LightMyRequestResponse } from 'fastify';
import { servingRuntime } from '../../src/serving/module.js';
import { loansCsv, P, type StagingTest, setupStaging } from '../registry/staging/helpers.js';
import type { DialectName } from '../support/dialects.js';

export const DEPLOYMENTS = `${P}/deployments`;

export interface ServingTest extends StagingTest {
  /** Versions of model `credit` trained on loans@1: v1 and v2 (different seeds of rows). */
  versions: number[];
  /** A V2 infer request for rows of [x1, x2, group, region]. */
  v2(
    deployment: string,
    rows: [number, number, string, string][],
    opts?: { token?: string | null; version?: number; headers?: Record<string, string> },
  ): Promise<LightMyRequestResponse>;
  mlflow(
    deployment: string,
    payload: unknown,
    opts?: { token?: string | null; contentType?: string },
  ): Promise<LightMyRequestResponse>;
  deploy(name: string, body: Record<string, unknown>): Promise<Record<string, unknown>>;
  runtime(): ReturnType<typeof servingRuntime>;
}

/** A V2 body with one input per column, written from the Open Inference Protocol's spec. */
export function v2Body(rows: [number, number, string, string][]): Record<string, unknown> {
  const n = rows.length;
  return {
    inputs: [
      { name: 'x1', shape: [n], datatype: 'FP64', data: rows.map((r) => r[0]) },
      { name: 'x2', shape: [n], datatype: 'FP64', data: rows.map((r) => r[1]) },
      { name: 'group', shape: [n], datatype: 'BYTES', data: rows.map((r) => r[2]) },
      { name: 'region', shape: [n], datatype: 'BYTES', data: rows.map((r) => r[3]) },
    ],
  };
}

export async function setupServing(dialect: DialectName): Promise<ServingTest> {
  const x = await setupStaging(dialect);
  await x.dataset('loans', loansCsv(400, 1, { bias: true }));
  const versions = [
    (await x.trainAndRegister('credit', { dataset: 'loans@1', target: 'label' })).version,
    (await x.trainAndRegister('credit', { dataset: 'loans@1', target: 'label', params: { nRounds: 5 } }))
      .version,
  ];
  const bearer = (token: string | null | undefined) =>
    token === null ? {} : { authorization: `Bearer ${token ?? x.as.bob}` };
  return {
    ...x,
    versions,
    v2(deployment, rows, opts = {}) {
      const v = opts.version === undefined ? '' : `/versions/${opts.version}`;
      return x.t.app.inject({
        method: 'POST',
        url: `/serving/alpha/${deployment}/v2/models/${deployment}${v}/infer`,
        headers: { ...bearer(opts.token), 'content-type': 'application/json', ...opts.headers },
        payload: JSON.stringify(v2Body(rows)),
      });
    },
    mlflow(deployment, payload, opts = {}) {
      return x.t.app.inject({
        method: 'POST',
        url: `/serving/alpha/${deployment}/invocations`,
        headers: { ...bearer(opts.token), 'content-type': opts.contentType ?? 'application/json' },
        payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
      });
    },
    async deploy(name, body) {
      const res = await x.call('bob', 'POST', DEPLOYMENTS, { name, ...body });
      if (res.statusCode !== 201) throw new Error(`deploy: ${res.statusCode} ${res.body}`);
      return res.json() as Record<string, unknown>;
    },
    runtime: () => servingRuntime(x.t.app),
  };
}
