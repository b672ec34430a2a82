// The Kubernetes executor. No cluster can run on Falaj's development or CI machines, so this
// file does NOT talk to Kubernetes: it checks the manifests as objects, the state mapping on
// Job/Pod status objects shaped like those a cluster returns, and the executor's API calls
// against a FAKE of the client's BatchV1Api/CoreV1Api (the only mock in the executor tests).
import type { V1Job, V1Node, V1Pod, V1Secret, V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  type KubernetesApis,
  KubernetesExecutor,
  memoryQuantity,
} from '../../../src/jobs/executors/kubernetes.js';
import { attemptManifests, kubernetesJobName } from '../../../src/jobs/executors/kubernetes-manifest.js';
import { attemptStatusOfJob } from '../../../src/jobs/executors/kubernetes-state.js';
import type { LaunchRequest } from '../../../src/jobs/types.js';

const GiB = 1024 ** 3;
const options = {
  namespace: 'ml',
  image: 'registry.example/train:1',
  gpuTypes: {
    '*': { tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }] },
    h100: { nodeSelector: { 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' } },
  },
};
const request = (over: Partial<LaunchRequest['spec']> = {}): LaunchRequest => ({
  jobId: 'Job_42',
  attempt: 2,
  spec: {
    command: ['python', 'train.py'],
    queue: 'q',
    resources: { cpu: 8, memory: 32 * GiB, gpu: 0 },
    ...over,
  },
  placements: [],
  env: { FALAJ_TOKEN: 'falaj_secret_token', FALAJ_RUN_ID: 'r1', HF_TOKEN: 'hf_secret' },
  workDir: '/unused',
});

describe('Kubernetes manifests', () => {
  it('builds a plain Job: no retries, requests = limits, deadline, no shell, no secret values inline', () => {
    const { job, secret, service } = attemptManifests(
      request({ maxRuntimeSeconds: 3600, env: { LR: '0.1' }, workdir: '/code' }),
      options,
    );
    const name = kubernetesJobName('Job_42', 2);
    expect(name).toMatch(/^falaj-job-42-2-[0-9a-f]{8}$/);
    expect(service).toBeUndefined();
    expect(job.spec).toMatchObject({
      backoffLimit: 0,
      completions: 1,
      parallelism: 1,
      activeDeadlineSeconds: 3600,
      template: { spec: { restartPolicy: 'Never' } },
    });
    expect(job.spec?.completionMode).toBeUndefined();
    const container = job.spec?.template.spec?.containers[0];
    expect(container).toMatchObject({
      image: 'registry.example/train:1',
      command: ['python', 'train.py'],
      workingDir: '/code',
      env: [{ name: 'LR', value: '0.1' }],
      envFrom: [{ secretRef: { name } }],
      resources: {
        requests: { cpu: '8', memory: String(32 * GiB) },
        limits: { cpu: '8', memory: String(32 * GiB) },
      },
    });
    expect(container?.args).toBeUndefined();
    // The request's env (token, resolved secrets) lives only in the Secret.
    expect(JSON.stringify(job)).not.toMatch(/secret_token|hf_secret/);
    expect(secret.stringData).toEqual({
      FALAJ_TOKEN: 'falaj_secret_token',
      FALAJ_RUN_ID: 'r1',
      HF_TOKEN: 'hf_secret',
    });
    expect(job.spec?.template.spec?.nodeSelector).toBeUndefined();
  });

  it('confines job pods: non-root, no escalation, no capabilities, no API token, no host paths', () => {
    const { job } = attemptManifests(request(), options);
    const pod = job.spec?.template.spec;
    expect(pod?.automountServiceAccountToken).toBe(false);
    expect(pod?.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod?.containers[0]?.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod?.hostNetwork ?? false).toBe(false);
    expect(pod?.hostPID ?? false).toBe(false);
    expect(JSON.stringify(job)).not.toMatch(/hostPath/);
    expect(
      attemptManifests(request(), { ...options, runAsUser: 4242 }).job.spec?.template.spec?.securityContext,
    ).toMatchObject({ runAsUser: 4242, runAsGroup: 4242 });
    expect(() => attemptManifests(request(), { ...options, runAsUser: 0 })).toThrow(/root/);
    // A queue without a network needs a NetworkPolicy, which is the cluster operator's to apply.
    expect(() => attemptManifests({ ...request(), network: 'none' }, options)).toThrow(/NetworkPolicy/);
  });

  it('asks for nvidia.com/gpu with the node selector and tolerations of the GPU type', () => {
    const { job } = attemptManifests(
      request({ resources: { cpu: 4, memory: GiB, gpu: 2, gpuType: 'h100' } }),
      options,
    );
    const pod = job.spec?.template.spec;
    expect(pod?.containers[0]?.resources?.limits?.['nvidia.com/gpu']).toBe('2');
    expect(pod?.containers[0]?.resources?.requests?.['nvidia.com/gpu']).toBe('2');
    expect(pod?.nodeSelector).toEqual({ 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' });
    expect(pod?.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(() =>
      attemptManifests(request({ resources: { cpu: 1, memory: GiB, gpu: 1, gpuType: 'tpu' } }), options),
    ).toThrow(/no Kubernetes placement is configured for GPU type 'tpu'/);
  });

  it('makes distributed jobs Indexed, with a headless Service for rank 0 and RANK from the completion index', () => {
    const { job, service } = attemptManifests(
      request({ distributed: { nodes: 4, procsPerNode: 1 }, resources: { cpu: 8, memory: GiB, gpu: 1 } }),
      options,
    );
    const name = job.metadata?.name as string;
    expect(job.spec).toMatchObject({ completionMode: 'Indexed', completions: 4, parallelism: 4 });
    expect(job.spec?.template.spec?.subdomain).toBe(name);
    expect(service?.spec).toMatchObject({
      clusterIP: 'None',
      selector: { 'job-name': name },
      publishNotReadyAddresses: true,
    });
    const env = job.spec?.template.spec?.containers[0]?.env ?? [];
    const byName = Object.fromEntries(env.map((e) => [e.name, e]));
    expect(byName.MASTER_ADDR?.value).toBe(`${name}-0.${name}`);
    expect(byName.MASTER_PORT?.value).toBe('29500');
    expect(byName.WORLD_SIZE?.value).toBe('4');
    expect(byName.RANK?.valueFrom?.fieldRef?.fieldPath).toBe(
      "metadata.annotations['batch.kubernetes.io/job-completion-index']",
    );
    expect(byName.PET_NNODES?.value).toBe('4');
  });

  it('leaves RANK to torchrun when a pod runs several processes', () => {
    const { job } = attemptManifests(request({ distributed: { nodes: 2, procsPerNode: 8 } }), options);
    const names = (job.spec?.template.spec?.containers[0]?.env ?? []).map((e) => e.name);
    expect(names).toEqual(expect.arrayContaining(['PET_NPROC_PER_NODE', 'PET_NODE_RANK', 'MASTER_ADDR']));
    expect(names).not.toContain('RANK');
  });
});

// Status objects shaped like those the API server returns (trimmed to the fields read).
const job = (status: V1Job['status'], metadata: V1Job['metadata'] = { name: 'j' }): V1Job => ({
  metadata,
  status,
});
const pod = (status: V1Pod['status']): V1Pod => ({ metadata: { name: 'j-abcde' }, status });

describe('Kubernetes state mapping', () => {
  it('maps Job conditions', () => {
    expect(
      attemptStatusOfJob(job({ conditions: [{ type: 'Complete', status: 'True' }], succeeded: 1 }), []),
    ).toEqual({
      state: 'succeeded',
      exitCode: 0,
    });
    expect(
      attemptStatusOfJob(
        job({ conditions: [{ type: 'Failed', status: 'True', reason: 'DeadlineExceeded' }] }),
        [],
      ),
    ).toMatchObject({ state: 'failed', reason: expect.stringMatching(/maximum runtime/) });
    expect(attemptStatusOfJob(job({}, { name: 'j', deletionTimestamp: new Date() }), []).state).toBe(
      'cancelled',
    );
    expect(attemptStatusOfJob(job({ conditions: [{ type: 'Suspended', status: 'True' }] }), []).state).toBe(
      'pending',
    );
  });

  it('takes the exit code, OOM and start errors from the failed pod', () => {
    const failedJob = job({
      failed: 1,
      conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }],
    });
    const terminated = (t: object) =>
      pod({
        phase: 'Failed',
        containerStatuses: [
          {
            name: 'main',
            image: 'i',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: { terminated: { exitCode: 0, ...t } },
          },
        ],
      });
    expect(attemptStatusOfJob(failedJob, [terminated({ exitCode: 3, reason: 'Error' })])).toEqual({
      state: 'failed',
      exitCode: 3,
      reason: 'exit code 3',
    });
    expect(attemptStatusOfJob(failedJob, [terminated({ exitCode: 137, reason: 'OOMKilled' })])).toMatchObject(
      {
        reason: 'ran out of memory (OOMKilled)',
      },
    );
    expect(
      attemptStatusOfJob(failedJob, [
        terminated({
          exitCode: 128,
          reason: 'StartError',
          message: 'exec: "trian.py": executable file not found in $PATH',
        }),
      ]).reason,
    ).toMatch(/^command not found/);
  });

  it('calls evicted and disrupted pods lost, so Falaj retries them', () => {
    const failedJob = job({
      conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }],
    });
    expect(
      attemptStatusOfJob(failedJob, [pod({ phase: 'Failed', reason: 'Evicted', message: 'low on memory' })]),
    ).toMatchObject({
      state: 'lost',
    });
    expect(
      attemptStatusOfJob(failedJob, [
        pod({ phase: 'Failed', conditions: [{ type: 'DisruptionTarget', status: 'True' }] }),
      ]).state,
    ).toBe('lost');
  });

  it('says why a pending attempt waits', () => {
    expect(
      attemptStatusOfJob(job({ active: 1 }), [
        pod({
          phase: 'Pending',
          conditions: [
            {
              type: 'PodScheduled',
              status: 'False',
              reason: 'Unschedulable',
              message: '0/3 nodes have nvidia.com/gpu',
            },
          ],
        }),
      ]),
    ).toEqual({ state: 'pending', reason: 'not scheduled: 0/3 nodes have nvidia.com/gpu' });
    expect(
      attemptStatusOfJob(job({ active: 1 }), [
        pod({
          phase: 'Pending',
          containerStatuses: [
            {
              name: 'main',
              image: 'i',
              imageID: '',
              ready: false,
              restartCount: 0,
              state: { waiting: { reason: 'ImagePullBackOff' } },
            },
          ],
        }),
      ]).reason,
    ).toBe('ImagePullBackOff');
    expect(attemptStatusOfJob(job({ active: 1, ready: 1 }), [pod({ phase: 'Running' })]).state).toBe(
      'running',
    );
  });
});

/** A FAKE of the few BatchV1Api/CoreV1Api calls the executor makes: objects kept in maps. */
function fakeApis() {
  const jobs = new Map<string, V1Job>();
  const secrets = new Map<string, V1Secret>();
  const services = new Map<string, V1Service>();
  const pods = new Map<string, V1Pod>();
  const deletedPods: { name: string; grace: number | undefined }[] = [];
  const notFound = () => Object.assign(new Error('not found'), { code: 404 });
  const apis: KubernetesApis = {
    batch: {
      async createNamespacedJob({ body }) {
        const created = { ...body, metadata: { ...body.metadata, uid: `uid-${body.metadata?.name}` } };
        jobs.set(body.metadata?.name as string, created);
        return created;
      },
      async readNamespacedJobStatus({ name }) {
        const j = jobs.get(name);
        if (!j) throw notFound();
        return j;
      },
      async deleteNamespacedJob({ name }) {
        if (!jobs.delete(name)) throw notFound();
        return {};
      },
    },
    core: {
      async createNamespacedSecret({ body }) {
        secrets.set(body.metadata?.name as string, body);
        return body;
      },
      async createNamespacedService({ body }) {
        services.set(body.metadata?.name as string, body);
        return body;
      },
      async listNamespacedPod({ labelSelector }) {
        const jobName = labelSelector?.replace('job-name=', '');
        return { items: [...pods.values()].filter((p) => p.metadata?.labels?.['job-name'] === jobName) };
      },
      async deleteNamespacedPod({ name, gracePeriodSeconds }) {
        deletedPods.push({ name, grace: gracePeriodSeconds });
        pods.delete(name);
        return {};
      },
      async readNamespacedPodLog({ name }) {
        return `log of ${name}\n`;
      },
      async listNode() {
        const items: V1Node[] = [
          {
            metadata: { name: 'gpu-1', labels: { 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' } },
            status: {
              allocatable: { cpu: '95500m', memory: '1000Gi', 'nvidia.com/gpu': '8' },
              conditions: [{ type: 'Ready', status: 'True' }],
            },
          },
          {
            metadata: { name: 'cpu-1' },
            status: {
              allocatable: { cpu: '16', memory: '64Gi' },
              conditions: [{ type: 'Ready', status: 'True' }],
            },
          },
          {
            metadata: { name: 'broken' },
            status: { allocatable: { cpu: '16' }, conditions: [{ type: 'Ready', status: 'False' }] },
          },
        ];
        return { items };
      },
    },
  };
  return { apis, jobs, secrets, services, pods, deletedPods };
}

describe('Kubernetes executor against a fake API (no cluster)', () => {
  it('creates the Job, then a Secret and a Service owned by it', async () => {
    const fake = fakeApis();
    const e = new KubernetesExecutor({ ...options, apis: fake.apis });
    const { externalId } = await e.start(request({ distributed: { nodes: 2, procsPerNode: 1 } }));
    expect(fake.jobs.has(externalId)).toBe(true);
    const owner = [
      { apiVersion: 'batch/v1', kind: 'Job', name: externalId, uid: `uid-${externalId}`, controller: false },
    ];
    expect(fake.secrets.get(externalId)?.metadata?.ownerReferences).toEqual(owner);
    expect(fake.services.get(externalId)?.metadata?.ownerReferences).toEqual(owner);
    expect(await e.status(externalId)).toEqual({ state: 'pending' });
  });

  it('follows the Job to its end, and reads the pod logs', async () => {
    const fake = fakeApis();
    const e = new KubernetesExecutor({ ...options, apis: fake.apis });
    const { externalId } = await e.start(request());
    fake.pods.set('p0', {
      metadata: { name: 'p0', labels: { 'job-name': externalId } },
      status: { phase: 'Running' },
    });
    expect((await e.status(externalId)).state).toBe('running');
    const j = fake.jobs.get(externalId) as V1Job;
    fake.jobs.set(externalId, {
      ...j,
      status: { succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] },
    });
    expect((await e.status(externalId)).state).toBe('succeeded');
    const chunks: string[] = [];
    for await (const c of e.logs(externalId, { follow: true })) chunks.push(Buffer.from(c).toString());
    expect(chunks.join('')).toBe('log of p0\n');
  });

  it('cancels: pods deleted with the grace period, then the Job; an unknown Job is lost', async () => {
    const fake = fakeApis();
    const e = new KubernetesExecutor({ ...options, apis: fake.apis });
    const { externalId } = await e.start(request());
    fake.pods.set('p0', {
      metadata: { name: 'p0', labels: { 'job-name': externalId } },
      status: { phase: 'Running' },
    });
    await e.cancel(externalId, { graceSeconds: 7 });
    await e.cancel(externalId, { graceSeconds: 7 });
    expect(fake.deletedPods).toEqual([{ name: 'p0', grace: 7 }]);
    expect(fake.jobs.has(externalId)).toBe(false);
    expect(await e.status(externalId)).toMatchObject({ state: 'cancelled' });
    // Another instance (after a restart) did not cancel it: the Job is simply gone.
    const other = new KubernetesExecutor({ ...options, apis: fake.apis });
    expect(await other.status(externalId)).toMatchObject({
      state: 'lost',
      reason: expect.stringMatching(/no longer exists/),
    });
    await expect(other.status('Not A Name!')).rejects.toMatchObject({ code: 'FALAJ_INVALID_ARGUMENT' });
  });

  it('discovers ready nodes with their GPU type from the configured node selectors', async () => {
    const e = new KubernetesExecutor({ ...options, apis: fakeApis().apis });
    expect(await e.discover()).toEqual([
      expect.objectContaining({
        nodeId: 'gpu-1',
        cpu: 95.5,
        memory: 1000 * GiB,
        gpus: { h100: [0, 1, 2, 3, 4, 5, 6, 7] },
      }),
      expect.objectContaining({ nodeId: 'cpu-1', cpu: 16, memory: 64 * GiB, gpus: {} }),
    ]);
    expect(memoryQuantity('16000000k')).toBe(16e9);
  });

  it('uses the Job watch when the client offers one', async () => {
    const fake = fakeApis();
    let emit: ((type: string, job: V1Job) => void) | undefined;
    let aborted = false;
    const apis: KubernetesApis = {
      ...fake.apis,
      watchJobs: async (_ns, selector, onEvent) => {
        expect(selector).toBe('app.kubernetes.io/managed-by=falaj');
        emit = onEvent;
        return { abort: () => (aborted = true) };
      },
    };
    const e = new KubernetesExecutor({ ...options, apis });
    const { externalId } = await e.start(request());
    // The watch's copy wins over the stored object (which a read would return).
    emit?.('MODIFIED', {
      metadata: { name: externalId },
      status: { conditions: [{ type: 'Complete', status: 'True' }] },
    });
    expect((await e.status(externalId)).state).toBe('succeeded');
    await e.close();
    expect(aborted).toBe(true);
  });
});
