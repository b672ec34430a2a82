// The Kubernetes executor through the real @kubernetes/client-node HTTP clients (kubernetesApis)
// against a fake API server (test/support/fake-kube-api.ts): what kubernetes.test.ts cannot show
// with its in-memory fake of the clients — the paths and query strings sent, the Watch stream,
// bodies as the API server stores them, 404s as the client throws them. Still NOT a cluster.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubernetesExecutor, kubernetesApis } from '../../../src/jobs/executors/kubernetes.js';
import { kubernetesJobName } from '../../../src/jobs/executors/kubernetes-manifest.js';
import type { AttemptStatus, LaunchRequest } from '../../../src/jobs/types.js';
import { FakeKubeApi } from '../../support/fake-kube-api.js';

const GiB = 1024 ** 3;
const NS = 'ml';
let fake: FakeKubeApi;
let dir: string;
let kc: KubeConfig;
const executors: KubernetesExecutor[] = [];

/** An executor over the real clients; `watch: false` leaves out the Watch, so status reads the Job. */
function executor(opts: { watch?: boolean } = {}): KubernetesExecutor {
  const apis = kubernetesApis(kc);
  const e = new KubernetesExecutor({
    apis: opts.watch === false ? { batch: apis.batch, core: apis.core } : apis,
    namespace: NS,
    image: 'registry.example/train:1',
    gpuTypes: { h100: { nodeSelector: { 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' } } },
  });
  executors.push(e);
  return e;
}

let counter = 0;
function request(over: Partial<LaunchRequest['spec']> = {}): LaunchRequest {
  counter += 1;
  return {
    jobId: `job${counter}`,
    attempt: 1,
    spec: {
      command: ['python', 'train.py'],
      queue: 'default',
      resources: { cpu: 2, memory: GiB, gpu: 0 },
      ...over,
    },
    placements: [],
    env: { FALAJ_TOKEN: `falaj_token_${counter}`, FALAJ_URL: 'http://falaj.example:7460' },
    workDir: '/unused',
  };
}

/** Polls (a generous deadline, not a timing assertion) until `ok` holds for what `get` returns. */
async function until<T>(get: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`still waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
const untilState = (e: KubernetesExecutor, id: string, state: AttemptStatus['state']) =>
  until(
    () => e.status(id),
    (s) => s.state === state,
    `${id} ${state}`,
  );

async function readLogs(e: KubernetesExecutor, id: string): Promise<string> {
  let text = '';
  for await (const chunk of e.logs(id)) text += new TextDecoder().decode(chunk);
  return text;
}

beforeAll(async () => {
  fake = await FakeKubeApi.start([
    { name: 'cpu-1', cpu: '16', memory: '64Gi' },
    {
      name: 'gpu-1',
      cpu: '3500m',
      memory: '128Gi',
      gpus: 8,
      labels: { 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' },
    },
    { name: 'down', ready: false },
  ]);
  dir = await mkdtemp(path.join(os.tmpdir(), 'falaj-kube-'));
  kc = new KubeConfig();
  kc.loadFromFile(await fake.writeKubeconfig(dir, NS));
});

afterAll(async () => {
  for (const e of executors) await e.close();
  await fake?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the Kubernetes executor over HTTP, against a fake API server', () => {
  it('creates the Job and a Secret owned by it that alone holds the token', async () => {
    const e = executor();
    const req = request({ env: { LR: '0.1' } });
    const { externalId } = await e.start(req);
    expect(externalId).toBe(kubernetesJobName(req.jobId, 1));
    expect(fake.calls).toContain(`POST /apis/batch/v1/namespaces/${NS}/jobs`);
    expect(fake.calls).toContain(`POST /api/v1/namespaces/${NS}/secrets`);
    const job = fake.job(externalId);
    expect(job?.metadata?.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'falaj' });
    expect(job?.spec).toMatchObject({ backoffLimit: 0, completions: 1 });
    expect(job?.spec?.template.spec?.containers[0]).toMatchObject({
      image: 'registry.example/train:1',
      command: ['python', 'train.py'],
      env: [{ name: 'LR', value: '0.1' }],
      envFrom: [{ secretRef: { name: externalId } }],
      resources: { requests: { cpu: '2', memory: String(GiB) } },
    });
    expect(JSON.stringify(job)).not.toContain('falaj_token_');
    expect(fake.secretData(externalId)).toEqual({
      FALAJ_TOKEN: req.env.FALAJ_TOKEN,
      FALAJ_URL: 'http://falaj.example:7460',
    });
    expect(fake.secret(externalId)?.metadata?.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'Job', name: externalId, uid: job?.metadata?.uid }),
    ]);
    // Pods created, containers not yet: pending, with the kubelet's reason.
    expect(await e.status(externalId)).toEqual({ state: 'pending', reason: 'ContainerCreating' });
  });

  it('gives a distributed job an owned headless Service and one pod per index', async () => {
    const e = executor();
    const { externalId } = await e.start(request({ distributed: { nodes: 2, procsPerNode: 1 } }));
    expect(fake.calls).toContain(`POST /api/v1/namespaces/${NS}/services`);
    const svc = fake.services().find((s) => s.metadata?.name === externalId);
    expect(svc?.spec).toMatchObject({ clusterIP: 'None', selector: { 'job-name': externalId } });
    expect(svc?.metadata?.ownerReferences?.[0]?.uid).toBe(fake.job(externalId)?.metadata?.uid);
    expect(
      fake
        .pods(externalId)
        .map((p) => p.metadata?.annotations?.['batch.kubernetes.io/job-completion-index'])
        .sort(),
    ).toEqual(['0', '1']);
  });

  it('follows a Job through the watch to success, then reads its pod log', async () => {
    const e = executor();
    const { externalId } = await e.start(request());
    await until(
      async () => fake.watchers,
      (n) => n > 0,
      'the watch',
    );
    expect(fake.calls).toContainEqual(
      expect.stringMatching(
        /^GET \/apis\/batch\/v1\/namespaces\/ml\/jobs\?watch=true&labelSelector=app.kubernetes.io%2Fmanaged-by%3Dfalaj$/,
      ),
    );
    fake.runJob(externalId);
    // Served from the watch: the status() call that sees it running reads no Job from the API.
    const reads = () => fake.calls.filter((c) => c.endsWith(`/jobs/${externalId}/status`)).length;
    await until(
      async () => {
        const before = reads();
        const s = await e.status(externalId);
        return { state: s.state, read: reads() > before };
      },
      (v) => v.state === 'running' && !v.read,
      'running, from the watch',
    );
    fake.runJob(externalId, { exitCode: 0, log: 'epoch 1\nloss 0.12\n' });
    expect(await untilState(e, externalId, 'succeeded')).toEqual({ state: 'succeeded', exitCode: 0 });
    expect(await readLogs(e, externalId)).toBe('epoch 1\nloss 0.12\n');
    const pod = fake.pods(externalId)[0]?.metadata?.name;
    expect(fake.calls).toContain(`GET /api/v1/namespaces/${NS}/pods/${pod}/log?container=main`);
  });

  it('reads the Job when it has no watch, and maps a failed pod to its exit code', async () => {
    const e = executor({ watch: false });
    const { externalId } = await e.start(request());
    fake.runJob(externalId, { exitCode: 3, log: 'Traceback...\n' });
    expect(await e.status(externalId)).toEqual({ state: 'failed', exitCode: 3, reason: 'exit code 3' });
    expect(fake.calls).toContain(`GET /apis/batch/v1/namespaces/${NS}/jobs/${externalId}/status`);
    expect(fake.calls).toContain(`GET /api/v1/namespaces/${NS}/pods?labelSelector=job-name%3D${externalId}`);
    expect(await readLogs(e, externalId)).toBe('Traceback...\n');
  });

  it('cancels: pods deleted with the grace, the Job deleted in the foreground, then cancelled', async () => {
    const e = executor();
    const { externalId } = await e.start(request());
    fake.runJob(externalId);
    await untilState(e, externalId, 'running');
    const pod = fake.pods(externalId)[0]?.metadata?.name;
    await e.cancel(externalId, { graceSeconds: 7 });
    expect(fake.deletedPods).toContainEqual({ name: pod, gracePeriodSeconds: 7 });
    expect(fake.deletedJobs).toContainEqual({ name: externalId, propagationPolicy: 'Foreground' });
    expect(fake.job(externalId)).toBeUndefined();
    expect(fake.secret(externalId)).toBeUndefined();
    expect((await untilState(e, externalId, 'cancelled')).state).toBe('cancelled');
    await e.cancel(externalId, { graceSeconds: 7 });
    // A new instance (a restarted server) never deleted it: a Job that is gone reads as lost.
    expect((await executor({ watch: false }).status(externalId)).state).toBe('lost');
  });

  it('maps a 404 to lost: a Job that never existed, and one deleted outside Falaj', async () => {
    const e = executor();
    const missing = kubernetesJobName('never-started', 1);
    expect(await e.status(missing)).toMatchObject({
      state: 'lost',
      reason: expect.stringMatching(/no longer exists/),
    });
    expect(fake.calls).toContain(`GET /apis/batch/v1/namespaces/${NS}/jobs/${missing}/status`);
    const { externalId } = await e.start(request());
    fake.runJob(externalId);
    await untilState(e, externalId, 'running');
    fake.removeJob(externalId);
    expect((await untilState(e, externalId, 'lost')).reason).toMatch(/deleted outside Falaj/);
  });

  it('refuses a code snapshot before creating anything', async () => {
    const e = executor();
    const before = fake.calls.length;
    await expect(e.start(request({ code: { artifact: 'jobs/code/abc.tar' } }))).rejects.toMatchObject({
      code: 'FALAJ_INVALID_ARGUMENT',
      message: expect.stringMatching(/a code snapshot \(--code\) needs the local, slurm or agent executor/),
    });
    expect(fake.calls.slice(before).filter((c) => c.startsWith('POST'))).toEqual([]);
  });

  it('discovers the ready nodes with their allocatable cpu, memory and GPUs', async () => {
    const nodes = await executor().discover();
    expect(fake.calls).toContain('GET /api/v1/nodes');
    expect(nodes.map((n) => n.nodeId)).toEqual(['cpu-1', 'gpu-1']);
    expect(nodes[0]).toMatchObject({ cpu: 16, memory: 64 * GiB, gpus: {} });
    expect(nodes[1]).toMatchObject({
      cpu: 3.5,
      memory: 128 * GiB,
      gpus: { h100: [0, 1, 2, 3, 4, 5, 6, 7] },
      labels: { executor: 'kubernetes', 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' },
    });
  });
});
