// The Kubernetes executor: one batch/v1 Job per attempt, created, watched and deleted through
// @kubernetes/client-node. Only the few API calls it makes are typed here (KubernetesApis), so
// that tests can hand it a fake; `kubernetesApis(kubeConfig)` builds the real ones.
// NOTE: this executor has not run against a live cluster — only against recorded objects and a
// fake API server (test/support/fake-kube-api.ts) through the real client.
import {
  BatchV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1Job,
  type V1NodeList,
  type V1Pod,
  type V1PodList,
  type V1Secret,
  type V1Service,
  Watch,
} from '@kubernetes/client-node';
import { FalajError } from '../../core/errors.js';
import type { AttemptStatus, Executor, ExecutorCapabilities, LaunchRequest, NodeCapacity } from '../types.js';
import { attemptManifests, type KubernetesManifestOptions, MANAGED_BY } from './kubernetes-manifest.js';
import { attemptStatusOfJob } from './kubernetes-state.js';

export interface KubernetesApis {
  readonly batch: {
    createNamespacedJob(p: { namespace: string; body: V1Job }): Promise<V1Job>;
    readNamespacedJobStatus(p: { name: string; namespace: string }): Promise<V1Job>;
    deleteNamespacedJob(p: {
      name: string;
      namespace: string;
      propagationPolicy?: string;
      gracePeriodSeconds?: number;
    }): Promise<unknown>;
  };
  readonly core: {
    createNamespacedSecret(p: { namespace: string; body: V1Secret }): Promise<V1Secret>;
    createNamespacedService(p: { namespace: string; body: V1Service }): Promise<V1Service>;
    listNamespacedPod(p: { namespace: string; labelSelector?: string }): Promise<V1PodList>;
    deleteNamespacedPod(p: {
      name: string;
      namespace: string;
      gracePeriodSeconds?: number;
    }): Promise<unknown>;
    readNamespacedPodLog(p: { name: string; namespace: string; container?: string }): Promise<string>;
    listNode(p?: { labelSelector?: string }): Promise<V1NodeList>;
  };
  /** Job events in the namespace (Watch from the client); absent: status reads each time. */
  readonly watchJobs?: (
    namespace: string,
    labelSelector: string,
    onEvent: (type: string, job: V1Job) => void,
    onDone: (err: unknown) => void,
  ) => Promise<{ abort(): void }>;
}

/** The real API clients for a KubeConfig (loadFromDefault, loadFromCluster...). */
export function kubernetesApis(kc: KubeConfig): KubernetesApis {
  const watch = new Watch(kc);
  return {
    batch: kc.makeApiClient(BatchV1Api),
    core: kc.makeApiClient(CoreV1Api),
    watchJobs: (namespace, labelSelector, onEvent, onDone) =>
      watch.watch(
        `/apis/batch/v1/namespaces/${namespace}/jobs`,
        { labelSelector },
        (type, obj) => onEvent(type, obj as V1Job),
        onDone,
      ),
  };
}

export interface KubernetesExecutorOptions extends KubernetesManifestOptions {
  readonly apis: KubernetesApis;
  /** Only nodes with these labels count in discover(). */
  readonly nodeSelector?: Readonly<Record<string, string>>;
}

const CAPABILITIES: ExecutorCapabilities = {
  gpus: true,
  multiNode: true,
  arrays: false,
  liveLogs: false,
  seesServerDisk: false,
};
const NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const MANAGED_SELECTOR = Object.entries(MANAGED_BY)
  .map(([k, v]) => `${k}=${v}`)
  .join(',');

export class KubernetesExecutor implements Executor {
  readonly kind = 'kubernetes' as const;
  readonly capabilities = CAPABILITIES;
  readonly #opts: KubernetesExecutorOptions;
  /** Jobs as the watch last reported them (by name); a read from the API when absent. */
  readonly #watched = new Map<string, V1Job>();
  /** Jobs this instance deleted on cancel: once gone from the API they still read as cancelled. */
  readonly #cancelled = new Set<string>();
  #watch: Promise<{ abort(): void }> | undefined;

  constructor(opts: KubernetesExecutorOptions) {
    this.#opts = opts;
  }

  async discover(): Promise<NodeCapacity[]> {
    const selector = Object.entries(this.#opts.nodeSelector ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const list = await this.#opts.apis.core.listNode(selector ? { labelSelector: selector } : {});
    const types = Object.entries(this.#opts.gpuTypes ?? {}).filter(([t]) => t !== '*');
    const nodes: NodeCapacity[] = [];
    for (const node of list.items) {
      const ready = node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      if (!ready || node.spec?.unschedulable) continue;
      const alloc = node.status?.allocatable ?? {};
      const labels = node.metadata?.labels ?? {};
      const gpuCount = Number(alloc['nvidia.com/gpu'] ?? 0);
      // The GPU type is the configured type whose node selector this node matches.
      const type =
        types.find(([, rule]) =>
          Object.entries(rule.nodeSelector ?? {}).every(([k, v]) => labels[k] === v),
        )?.[0] ?? 'gpu';
      nodes.push({
        nodeId: node.metadata?.name ?? '',
        cpu: cpuQuantity(alloc.cpu ?? '0'),
        memory: memoryQuantity(alloc.memory ?? '0'),
        gpus: gpuCount > 0 ? { [type]: Array.from({ length: gpuCount }, (_, i) => i) } : {},
        labels: { executor: 'kubernetes', ...labels },
      });
    }
    return nodes;
  }

  async start(req: LaunchRequest): Promise<{ externalId: string }> {
    // The scheduler unpacks a snapshot into workDir on the server's disk, which pods do not see
    // (materializeCode keeps spec.code as {artifact}, so the original request is still visible here).
    if (req.spec.code && 'artifact' in req.spec.code) {
      throw new FalajError(
        'FALAJ_INVALID_ARGUMENT',
        'the kubernetes executor runs code from its image or a path mounted in it; a code snapshot (--code) needs the local, slurm or agent executor',
        { code: req.spec.code },
      );
    }
    this.#ensureWatch();
    const { job, secret, service } = attemptManifests(req, this.#opts);
    const namespace = this.#opts.namespace;
    const created = await this.#opts.apis.batch.createNamespacedJob({ namespace, body: job });
    const name = created.metadata?.name ?? (job.metadata?.name as string);
    // Owned by the Job, so the Secret and Service go when the Job goes (TTL or delete). The pods
    // wait for the Secret (CreateContainerConfigError) the moment it takes to create it.
    const owner = created.metadata?.uid
      ? [{ apiVersion: 'batch/v1', kind: 'Job', name, uid: created.metadata.uid, controller: false }]
      : undefined;
    const withOwner = <T extends { metadata?: object }>(o: T): T =>
      owner ? { ...o, metadata: { ...o.metadata, ownerReferences: owner } } : o;
    await this.#opts.apis.core.createNamespacedSecret({ namespace, body: withOwner(secret) });
    if (service) await this.#opts.apis.core.createNamespacedService({ namespace, body: withOwner(service) });
    return { externalId: name };
  }

  async status(externalId: string): Promise<AttemptStatus> {
    const job = await this.#read(externalId);
    if (!job) {
      if (this.#cancelled.has(externalId))
        return { state: 'cancelled', reason: 'cancelled: the Job was deleted' };
      return {
        state: 'lost',
        reason: `the Job ${externalId} no longer exists (deleted outside Falaj, or removed by its TTL)`,
      };
    }
    return attemptStatusOfJob(job, await this.#pods(externalId));
  }

  async cancel(externalId: string, opts: { graceSeconds: number }): Promise<void> {
    const job = await this.#read(externalId);
    if (!job) return;
    const s = attemptStatusOfJob(job, []);
    if (s.state !== 'pending' && s.state !== 'running') return;
    this.#cancelled.add(externalId);
    const namespace = this.#opts.namespace;
    // Pods first, with the caller's grace (the kubelet sends SIGTERM, then SIGKILL after it);
    // then the Job, in the foreground so that it stays visible until its pods are gone.
    for (const pod of await this.#pods(externalId)) {
      const name = pod.metadata?.name;
      if (name) {
        await ignoreNotFound(
          this.#opts.apis.core.deleteNamespacedPod({
            name,
            namespace,
            gracePeriodSeconds: Math.max(0, opts.graceSeconds),
          }),
        );
      }
    }
    await ignoreNotFound(
      this.#opts.apis.batch.deleteNamespacedJob({
        name: externalId,
        namespace,
        propagationPolicy: 'Foreground',
      }),
    );
  }

  async *logs(externalId: string, opts?: { follow?: boolean }): AsyncIterable<Uint8Array> {
    // Pod logs are read when the attempt has ended (capabilities.liveLogs is false).
    if (opts?.follow) {
      for (;;) {
        const s = await this.status(externalId);
        if (s.state !== 'pending' && s.state !== 'running') break;
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
    const pods = [...(await this.#pods(externalId))].sort((a, b) =>
      (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''),
    );
    for (const pod of pods) {
      const name = pod.metadata?.name;
      if (!name) continue;
      const text = await this.#opts.apis.core.readNamespacedPodLog({
        name,
        namespace: this.#opts.namespace,
        container: 'main',
      });
      yield new TextEncoder().encode(text);
    }
  }

  async close(): Promise<void> {
    const w = this.#watch;
    this.#watch = undefined;
    if (w) (await w).abort();
  }

  #ensureWatch(): void {
    const watchJobs = this.#opts.apis.watchJobs;
    if (this.#watch || !watchJobs) return;
    this.#watch = watchJobs(
      this.#opts.namespace,
      MANAGED_SELECTOR,
      (type, job) => {
        const name = job.metadata?.name;
        if (!name) return;
        if (type === 'DELETED') this.#watched.delete(name);
        else this.#watched.set(name, job);
      },
      () => {
        // The watch ended (server timeout, network): fall back to reads and watch again on the next start.
        this.#watched.clear();
        this.#watch = undefined;
      },
    );
  }

  async #read(name: string): Promise<V1Job | undefined> {
    if (!NAME.test(name)) {
      throw new FalajError('FALAJ_INVALID_ARGUMENT', `'${name}' is not a Kubernetes Job name`, {
        externalId: name,
      });
    }
    const cached = this.#watched.get(name);
    if (cached) return cached;
    try {
      return await this.#opts.apis.batch.readNamespacedJobStatus({ name, namespace: this.#opts.namespace });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async #pods(jobName: string): Promise<V1Pod[]> {
    const list = await this.#opts.apis.core.listNamespacedPod({
      namespace: this.#opts.namespace,
      labelSelector: `job-name=${jobName}`,
    });
    return list.items;
  }
}

function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 404;
}

async function ignoreNotFound(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** "4", "3500m" → cores. */
export function cpuQuantity(q: string): number {
  return q.endsWith('m') ? Number(q.slice(0, -1)) / 1000 : Number(q);
}

const UNITS: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
};

/** "16Gi", "16000000k", "1e9" → bytes. */
export function memoryQuantity(q: string): number {
  const m = /^([0-9.e+]+)([A-Za-z]*)$/.exec(q);
  if (!m) return 0;
  return Math.floor(Number(m[1]) * (m[2] ? (UNITS[m[2]] ?? 1) : 1));
}
