// A fake Kubernetes API server: just the endpoints the Kubernetes executor calls, answered over
// real HTTP so that tests go through the real @kubernetes/client-node clients (paths, query
// strings, JSON (de)serialization, bearer token, the Watch's newline-delimited stream, 404s as
// ApiException). No cluster can run on Falaj's machines; this is the closest stand-in, and it is
// NOT a cluster: no scheduler, no kubelet. Pods only change when a test says so (runJob), in the
// shapes the Job controller and the kubelet write (read by src/jobs/executors/kubernetes-state.ts).
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type {
  V1ContainerStatus,
  V1Job,
  V1Node,
  V1ObjectMeta,
  V1Pod,
  V1Secret,
  V1Service,
} from '@kubernetes/client-node';

type Obj = { metadata?: V1ObjectMeta };
interface Watcher {
  namespace: string;
  selector: string | null;
  res: ServerResponse;
}
export interface FakeNode {
  name: string;
  cpu?: string;
  memory?: string;
  gpus?: number;
  labels?: Record<string, string>;
  ready?: boolean;
}

const key = (ns: string, name: string) => `${ns}/${name}`;

/** `a=b,c=d` (equality only: all the executor sends) against an object's labels. */
function matches(selector: string | null, o: Obj): boolean {
  if (!selector) return true;
  const labels = o.metadata?.labels ?? {};
  return selector.split(',').every((term) => {
    const [k, v] = term.split('=');
    return k !== undefined && labels[k] === v;
  });
}

export class FakeKubeApi {
  /** The bearer token the kubeconfig carries; other requests get 401 (the client's auth is used). */
  readonly token = `fake-${randomBytes(8).toString('hex')}`;
  /** Every request, as "METHOD /path?query", for tests that check what the client sent. */
  readonly calls: string[] = [];
  readonly deletedPods: { name: string; gracePeriodSeconds: number | undefined }[] = [];
  readonly deletedJobs: { name: string; propagationPolicy: string | undefined }[] = [];
  readonly #jobs = new Map<string, V1Job>();
  readonly #pods = new Map<string, V1Pod>();
  readonly #secrets = new Map<string, V1Secret>();
  readonly #services = new Map<string, V1Service>();
  readonly #logs = new Map<string, string>();
  readonly #nodes: V1Node[] = [];
  readonly #watchers = new Set<Watcher>();
  #version = 1;
  readonly #server: Server = createServer((req, res) => void this.#handle(req, res));

  static async start(nodes: FakeNode[] = [{ name: 'node-1' }]): Promise<FakeKubeApi> {
    const fake = new FakeKubeApi();
    for (const n of nodes) fake.addNode(n);
    await new Promise<void>((resolve) => fake.#server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** A kubeconfig for KUBECONFIG. Plain HTTP needs insecure-skip-tls-verify, or the client refuses it. */
  async writeKubeconfig(dir: string, namespace = 'default'): Promise<string> {
    const file = path.join(dir, 'kubeconfig.json');
    const config = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster: { server: this.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'fake', user: { token: this.token } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake', namespace } }],
      'current-context': 'fake',
    };
    await writeFile(file, JSON.stringify(config, null, 2));
    return file;
  }

  addNode(n: FakeNode): void {
    const allocatable: Record<string, string> = { cpu: n.cpu ?? '8', memory: n.memory ?? '32Gi' };
    if (n.gpus) allocatable['nvidia.com/gpu'] = String(n.gpus);
    this.#nodes.push({
      metadata: { name: n.name, labels: { 'kubernetes.io/hostname': n.name, ...n.labels } },
      spec: {},
      status: {
        allocatable,
        capacity: allocatable,
        conditions: [{ type: 'Ready', status: n.ready === false ? 'False' : 'True' }],
      },
    } as V1Node);
  }

  jobs(): V1Job[] {
    return [...this.#jobs.values()];
  }
  job(name: string): V1Job | undefined {
    return this.jobs().find((j) => j.metadata?.name === name);
  }
  pods(jobName: string): V1Pod[] {
    return [...this.#pods.values()].filter((p) => p.metadata?.labels?.['job-name'] === jobName);
  }
  secret(name: string): V1Secret | undefined {
    return [...this.#secrets.values()].find((s) => s.metadata?.name === name);
  }
  /** A Secret's data decoded (the API server turns stringData into base64 data). */
  secretData(name: string): Record<string, string> {
    const data = this.secret(name)?.data ?? {};
    return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
  }
  services(): V1Service[] {
    return [...this.#services.values()];
  }

  /**
   * Plays the kubelet and the Job controller: without exitCode the pods run (Running, ready);
   * with it they terminate with that code, and the Job gets the conditions the controller
   * writes (SuccessCriteriaMet + Complete, or FailureTarget + Failed with BackoffLimitExceeded,
   * as backoffLimit is 0).
   */
  runJob(name: string, opts: { exitCode?: number; log?: string } = {}): void {
    const job = this.job(name);
    if (!job) throw new Error(`fake kube: no Job ${name}`);
    const now = new Date();
    const ended = opts.exitCode !== undefined;
    const ok = opts.exitCode === 0;
    const state = ended
      ? { terminated: { exitCode: opts.exitCode ?? 0, reason: ok ? 'Completed' : 'Error', finishedAt: now } }
      : { running: { startedAt: now } };
    const pods = this.pods(name);
    for (const pod of pods) {
      const k = key(pod.metadata?.namespace as string, pod.metadata?.name as string);
      if (opts.log !== undefined) this.#logs.set(k, opts.log);
      const [container] = pod.status?.containerStatuses ?? [];
      pod.status = {
        ...pod.status,
        phase: !ended ? 'Running' : ok ? 'Succeeded' : 'Failed',
        containerStatuses: [{ ...(container as V1ContainerStatus), ready: !ended, state }],
      };
    }
    const n = pods.length;
    if (!ended) job.status = { ...job.status, active: n, ready: n };
    else {
      const [types, reason, message] = ok
        ? [
            ['SuccessCriteriaMet', 'Complete'],
            'CompletionsReached',
            'Reached expected number of succeeded pods',
          ]
        : [
            ['FailureTarget', 'Failed'],
            'BackoffLimitExceeded',
            'Job has reached the specified backoff limit',
          ];
      job.status = {
        ...job.status,
        active: 0,
        ready: 0,
        ...(ok ? { succeeded: n, completionTime: now } : { failed: n }),
        conditions: types.map((type) => ({ type, status: 'True', reason, message, lastTransitionTime: now })),
      };
    }
    this.#touch('MODIFIED', job);
  }

  /** The Job goes as kubectl delete or its TTL would take it, not through Falaj. */
  removeJob(name: string): void {
    const job = this.job(name);
    if (job) this.#deleteJob(job);
  }

  async close(): Promise<void> {
    for (const w of this.#watchers) w.res.end();
    this.#watchers.clear();
    this.#server.closeAllConnections();
    await new Promise((r) => this.#server.close(r));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const q = url.searchParams;
    this.calls.push(`${req.method} ${url.pathname}${url.search}`);
    let body = '';
    for await (const chunk of req) body += chunk;
    const send = (code: number, obj: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(obj));
    };
    // Errors as the API server writes them: a Status object with the HTTP code.
    const fail = (code: number, reason: string, message: string) =>
      send(code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, message, code });
    if (req.headers.authorization !== `Bearer ${this.token}`)
      return fail(401, 'Unauthorized', 'Unauthorized');
    const create = <T extends Obj>(map: Map<string, T>, ns: string, kind: string, after?: (o: T) => void) => {
      const o = JSON.parse(body) as T;
      const name = o.metadata?.name ?? '';
      if (map.has(key(ns, name))) return fail(409, 'AlreadyExists', `${kind} "${name}" already exists`);
      o.metadata = { ...o.metadata, namespace: ns, uid: randomUUID(), creationTimestamp: new Date() };
      map.set(key(ns, name), o);
      after?.(o);
      send(201, o);
    };
    if (req.method === 'GET' && url.pathname === '/api/v1/nodes') {
      const items = this.#nodes.filter((n) => matches(q.get('labelSelector'), n));
      return send(200, { kind: 'NodeList', apiVersion: 'v1', metadata: {}, items });
    }
    // /api/v1/namespaces/NS/RESOURCE[/NAME[/SUB]] and the same under /apis/batch/v1.
    const parts =
      /^\/(?:api\/v1|apis\/batch\/v1)\/namespaces\/([^/]+)\/([a-z]+)(?:\/([^/]+))?(?:\/([a-z]+))?$/.exec(
        url.pathname,
      );
    const [, ns = '', resource = '', name, sub] = parts ?? [];
    const selector = q.get('labelSelector');
    const inNs = (o: Obj) => o.metadata?.namespace === ns && matches(selector, o);
    switch (parts && `${req.method} ${resource}${name ? '/NAME' : ''}${sub ? `/${sub}` : ''}`) {
      case 'POST jobs':
        return create(this.#jobs, ns, 'jobs.batch', (j) => this.#jobCreated(j));
      case 'GET jobs':
        if (q.get('watch') === 'true') return this.#watch(ns, selector, res);
        return send(200, {
          kind: 'JobList',
          apiVersion: 'batch/v1',
          metadata: {},
          items: this.jobs().filter(inNs),
        });
      case 'GET jobs/NAME':
      case 'GET jobs/NAME/status':
      case 'DELETE jobs/NAME': {
        const job = this.#jobs.get(key(ns, name as string));
        if (!job) return fail(404, 'NotFound', `jobs.batch "${name}" not found`);
        if (req.method === 'GET') return send(200, job);
        this.deletedJobs.push({
          name: name as string,
          propagationPolicy: q.get('propagationPolicy') ?? undefined,
        });
        return send(200, this.#deleteJob(job));
      }
      case 'POST secrets':
        // The API server stores stringData as base64 data and never returns stringData.
        return create(this.#secrets, ns, 'secrets', (s) => {
          s.data = Object.fromEntries(
            Object.entries(s.stringData ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
          );
          delete s.stringData;
        });
      case 'POST services':
        return create(this.#services, ns, 'services');
      case 'GET pods':
        return send(200, {
          kind: 'PodList',
          apiVersion: 'v1',
          metadata: {},
          items: [...this.#pods.values()].filter(inNs),
        });
      case 'GET pods/NAME/log':
      case 'DELETE pods/NAME': {
        const k = key(ns, name as string);
        const pod = this.#pods.get(k);
        if (!pod) return fail(404, 'NotFound', `pods "${name}" not found`);
        if (req.method === 'DELETE') {
          const grace = q.get('gracePeriodSeconds');
          this.deletedPods.push({
            name: name as string,
            gracePeriodSeconds: grace === null ? undefined : Number(grace),
          });
          this.#pods.delete(k);
          return send(200, pod);
        }
        if (q.get('container') !== 'main') return fail(400, 'BadRequest', 'container main is the only one');
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(this.#logs.get(k) ?? '');
        return;
      }
    }
    fail(404, 'NotFound', `the fake has no ${req.method} ${url.pathname}`);
  }

  /** What the Job controller does at once: a Pending pod per completion (index), owned by the Job. */
  #jobCreated(job: V1Job): void {
    const name = job.metadata?.name as string;
    const ns = job.metadata?.namespace as string;
    const uid = job.metadata?.uid as string;
    const indexed = job.spec?.completionMode === 'Indexed';
    const template = job.spec?.template;
    job.status = {};
    this.#touch('ADDED', job);
    for (let i = 0; i < (job.spec?.completions ?? 1); i++) {
      const suffix = randomBytes(3).toString('hex').slice(0, 5);
      const podName = indexed ? `${name}-${i}-${suffix}` : `${name}-${suffix}`;
      const index: Record<string, string> = indexed
        ? { 'batch.kubernetes.io/job-completion-index': String(i) }
        : {};
      this.#pods.set(key(ns, podName), {
        metadata: {
          name: podName,
          namespace: ns,
          uid: randomUUID(),
          labels: {
            ...template?.metadata?.labels,
            'job-name': name,
            'batch.kubernetes.io/job-name': name,
            'controller-uid': uid,
            'batch.kubernetes.io/controller-uid': uid,
            ...index,
          },
          annotations: index,
          ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name, uid, controller: true }],
        },
        spec: template?.spec as V1Pod['spec'],
        status: {
          phase: 'Pending',
          containerStatuses: [
            {
              name: 'main',
              image: template?.spec?.containers[0]?.image ?? '',
              imageID: '',
              ready: false,
              restartCount: 0,
              state: { waiting: { reason: 'ContainerCreating' } },
            },
          ],
        },
      });
    }
    job.status = { active: job.spec?.completions ?? 1, ready: 0, startTime: new Date() };
    this.#touch('MODIFIED', job);
  }

  /** Deletion, collapsed into one step: the Job marked, then it, its pods and what it owns gone. */
  #deleteJob(job: V1Job): V1Job {
    const name = job.metadata?.name as string;
    const ns = job.metadata?.namespace as string;
    job.metadata = { ...job.metadata, deletionTimestamp: new Date() };
    this.#touch('MODIFIED', job);
    for (const pod of this.pods(name)) this.#pods.delete(key(ns, pod.metadata?.name as string));
    // The garbage collector: objects with an ownerReference to the Job go with it.
    for (const map of [this.#secrets, this.#services] as Map<string, Obj>[]) {
      for (const [k, o] of map) {
        if (o.metadata?.ownerReferences?.some((r) => r.uid === job.metadata?.uid)) map.delete(k);
      }
    }
    this.#jobs.delete(key(ns, name));
    this.#emit('DELETED', job);
    return job;
  }

  #touch(type: 'ADDED' | 'MODIFIED', job: V1Job): void {
    job.metadata = { ...job.metadata, resourceVersion: String(++this.#version) };
    this.#emit(type, job);
  }

  #emit(type: string, job: V1Job): void {
    for (const w of this.#watchers) {
      if (w.namespace === job.metadata?.namespace && matches(w.selector, job))
        w.res.write(`${JSON.stringify({ type, object: job })}\n`);
    }
  }

  /** A watch without resourceVersion starts, as the real one does, with ADDED for what exists. */
  #watch(namespace: string, selector: string | null, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'application/json' });
    const w: Watcher = { namespace, selector, res };
    this.#watchers.add(w);
    for (const job of this.#jobs.values()) {
      if (job.metadata?.namespace === namespace && matches(selector, job))
        res.write(`${JSON.stringify({ type: 'ADDED', object: job })}\n`);
    }
    // The response's close, not the request's: a request closes once its (empty) body is read.
    res.on('close', () => this.#watchers.delete(w));
  }

  /** How many watches are open (a test waits for the executor's to be). */
  get watchers(): number {
    return this.#watchers.size;
  }
}
