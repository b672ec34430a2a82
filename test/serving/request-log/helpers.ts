// A Services on a fresh store (either dialect) with one project and two deployments, and
// builders of request-log entries.
import type { ArtifactStore } from '../../../src/artifacts/artifact-store.js';
import { ManualClock } from '../../../src/core/clock.js';
import { resolveConfig } from '../../../src/core/config.js';
import type { Services } from '../../../src/http/services.js';
import { createServices } from '../../../src/server/services-factory.js';
import type { RequestLogEntry } from '../../../src/serving/request-log/index.js';
import { createSandbox, type DialectName, type Sandbox } from '../../support/dialects.js';

export const P = 'proj0000000000000000000000000001';
export const D1 = 'dep00000000000000000000000000001';
export const D2 = 'dep00000000000000000000000000002';
/** 2026-11-26 12:00 UTC. */
export const T0 = Date.UTC(2026, 10, 26, 12, 0, 0);

export interface Env {
  sb: Sandbox;
  svc: Services;
  clock: ManualClock;
  close(): Promise<void>;
}

export async function openEnv(dialect: DialectName): Promise<Env> {
  const sb = await createSandbox(dialect);
  const clock = new ManualClock(T0);
  const config = resolveConfig(
    { dataDir: sb.dataDir, databaseUrl: sb.databaseUrl, logLevel: 'silent' },
    { FALAJ_ADMIN_PASSWORD: 'correct-horse-battery-staple' },
  );
  const svc = await createServices(config, clock);
  await svc.store.db
    .insertInto('projects')
    .values({ id: P, name: 'p', description: '', created_at: 1, created_by: 'test' })
    .execute();
  for (const [id, name] of [
    [D1, 'churn'],
    [D2, 'price'],
  ] as const)
    await svc.store.db
      .insertInto('deployments')
      .values({
        id,
        project_id: P,
        name,
        description: '',
        revision: 1,
        public: 0,
        state: 'ready',
        state_reason: '',
        serving: null,
        created_at: 1,
        created_by: 'test',
        updated_at: 1,
      })
      .execute();
  return {
    sb,
    svc,
    clock,
    async close() {
      await svc.store.close();
      await sb.dispose();
    },
  };
}

/** `svc` with an artifact store whose put() fails the next `failures` times. */
export function withFailingPut(svc: Services, failures: number): { svc: Services; failures(): number } {
  const real = svc.artifacts;
  let left = failures;
  const artifacts: ArtifactStore = {
    capabilities: real.capabilities,
    put: async (source, opts) => {
      if (left > 0) {
        left--;
        throw new Error('artifact store unavailable');
      }
      return real.put(source, opts);
    },
    get: (d) => real.get(d),
    has: (d) => real.has(d),
    delete: (d) => real.delete(d),
    rewrapKeys: () => real.rewrapKeys(),
  };
  return { svc: { ...svc, artifacts }, failures: () => left };
}

const base = {
  projectId: P,
  revision: 3,
  model: 'churn-model',
  modelVersion: 2,
  variant: 'primary' as const,
  protocol: 'v2' as const,
  status: 200,
};

/** A 3-row classifier request: numeric `age`, string `city` (with a missing value), 2 classes. */
export function classifierEntry(
  requestId: string,
  time: number,
  over: Partial<RequestLogEntry> = {},
): RequestLogEntry {
  return {
    ...base,
    requestId,
    time,
    deploymentId: D1,
    deployment: 'churn',
    latencyMs: 12.5,
    batch: {
      rows: 3,
      columns: new Map<string, Float64Array | (string | null)[]>([
        ['age', Float64Array.from([31, Number.NaN, 57])],
        ['city', ['Dubai', null, 'Muscat']],
      ]),
    },
    prediction: {
      kind: 'classifier',
      labels: ['yes', 'no', 'yes'],
      classes: ['no', 'yes'],
      probabilities: [
        [0.25, 0.75],
        [0.9, 0.1],
        [0.4, 0.6],
      ],
    },
    ...over,
  };
}

/** A one-row regressor request on D2. */
export function regressorEntry(
  requestId: string,
  time: number,
  value: number,
  sqft: number,
): RequestLogEntry {
  return {
    ...base,
    model: 'price-model',
    modelVersion: 1,
    variant: 'canary',
    protocol: 'mlflow',
    requestId,
    time,
    deploymentId: D2,
    deployment: 'price',
    latencyMs: 3,
    batch: { rows: 1, columns: new Map([['sqft', Float64Array.from([sqft])]]) },
    prediction: { kind: 'regressor', values: Float64Array.from([value]) },
  };
}

/** A request refused before it parsed. */
export function failedEntry(requestId: string, time: number, deploymentId = D1): RequestLogEntry {
  return {
    ...base,
    requestId,
    time,
    deploymentId,
    deployment: deploymentId === D1 ? 'churn' : 'price',
    status: 422,
    latencyMs: 1.25,
    error: 'FALAJ_INVALID_ARGUMENT: input age is missing',
  };
}
