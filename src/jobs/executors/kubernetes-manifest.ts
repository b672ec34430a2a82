// The objects the Kubernetes executor creates for one attempt: a batch/v1 Job (Indexed for
// distributed jobs, with a headless Service so that rank 0 has a DNS name), and a Secret holding
// the launch request's environment (FALAJ_TOKEN, resolved secrets), read by the pods through
// envFrom — values never appear inline in the Job.
import { createHash } from 'node:crypto';
import type { V1Job, V1Secret, V1Service } from '@kubernetes/client-node';
import type { GpuPlacementRule } from '../../core/config.js';
import { FalajError } from '../../core/errors.js';
import type { LaunchRequest } from '../types.js';
import { assertEnvName } from './process-env.js';

/** Where pods of a GPU type may run: the node selector and tolerations for it. */
export interface KubernetesManifestOptions {
  readonly namespace: string;
  /** The container image jobs run in (a JobSpec names a command, not an image). */
  readonly image: string;
  /** Per Falaj gpuType; the key '*' applies to GPU jobs of any (or no) type. */
  readonly gpuTypes?: Readonly<Record<string, GpuPlacementRule>>;
  readonly serviceAccountName?: string;
  /** SIGTERM to SIGKILL in the pods. Default 30 (Kubernetes' own default). */
  readonly terminationGracePeriodSeconds?: number;
  /** Finished Jobs (and their Secret and Service) are removed this long after. Default 86400. */
  readonly ttlSecondsAfterFinished?: number;
  /** Default 29500, torchrun's. */
  readonly masterPort?: number;
  /** The uid (and gid) job containers run as; never 0. Default JOB_UID. */
  readonly runAsUser?: number;
}

/** The unprivileged uid job pods run as unless told otherwise (whatever the image's USER says). */
export const JOB_UID = 1000;

export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'falaj' } as const;
const COMPLETION_INDEX = "metadata.annotations['batch.kubernetes.io/job-completion-index']";

/** A DNS-1123 label ≤ 52 characters (indexed pods append `-<index>` and a hash suffix). */
export function kubernetesJobName(jobId: string, attempt: number): string {
  const slug = `falaj-${jobId}`
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/-+/g, '-');
  const hash = createHash('sha256').update(`${jobId}/${attempt}`).digest('hex').slice(0, 8);
  return `${slug.slice(0, 30).replace(/-$/, '')}-${attempt}-${hash}`;
}

export interface AttemptManifests {
  readonly job: V1Job;
  readonly secret: V1Secret;
  readonly service: V1Service | undefined;
}

export function attemptManifests(req: LaunchRequest, o: KubernetesManifestOptions): AttemptManifests {
  const { spec } = req;
  if (spec.command.length === 0) throw new FalajError('FALAJ_INVALID_ARGUMENT', 'the job has no command');
  if (req.network === 'none') {
    throw new FalajError(
      'FALAJ_CONFIG',
      `queue '${spec.queue}' runs jobs without a network; on Kubernetes that is a NetworkPolicy the cluster's operator applies (Falaj does not create one)`,
    );
  }
  if (o.runAsUser === 0) throw new FalajError('FALAJ_CONFIG', 'job pods never run as root (runAsUser 0)');
  const name = kubernetesJobName(req.jobId, req.attempt);
  const nodes = spec.distributed?.nodes ?? 1;
  const procsPerNode = spec.distributed?.procsPerNode ?? 1;
  const labels = {
    ...MANAGED_BY,
    'falaj.dev/job-id': req.jobId
      .toLowerCase()
      .replace(/[^a-z0-9._-]/g, '-')
      .slice(0, 63),
    'falaj.dev/attempt': String(req.attempt),
  };
  for (const k of [...Object.keys(req.env), ...Object.keys(spec.env ?? {})]) assertEnvName(k);

  const { resources } = spec;
  const quantities: Record<string, string> = {
    cpu: String(resources.cpu),
    memory: String(Math.max(1, Math.ceil(resources.memory))),
  };
  if (resources.gpu > 0) quantities['nvidia.com/gpu'] = String(resources.gpu);
  const gpuRule =
    resources.gpu > 0
      ? mergeRules(o.gpuTypes?.['*'], resources.gpuType ? o.gpuTypes?.[resources.gpuType] : undefined)
      : undefined;
  if (resources.gpuType && resources.gpu > 0 && o.gpuTypes && !o.gpuTypes[resources.gpuType]) {
    throw new FalajError(
      'FALAJ_CONFIG',
      `no Kubernetes placement is configured for GPU type '${resources.gpuType}'`,
      {
        gpuType: resources.gpuType,
      },
    );
  }

  const env: { name: string; value?: string; valueFrom?: { fieldRef: { fieldPath: string } } }[] =
    Object.entries(spec.env ?? {}).map(([k, v]) => ({ name: k, value: v }));
  if (spec.distributed) {
    const port = String(o.masterPort ?? 29500);
    const master = `${name}-0.${name}`;
    const index = { valueFrom: { fieldRef: { fieldPath: COMPLETION_INDEX } } };
    env.push(
      { name: 'MASTER_ADDR', value: master },
      { name: 'MASTER_PORT', value: port },
      { name: 'NODE_RANK', ...index },
      { name: 'GROUP_RANK', ...index },
      // torchrun reads PET_* as its defaults: `torchrun train.py` needs no flags in the pod.
      { name: 'PET_NNODES', value: String(nodes) },
      { name: 'PET_NPROC_PER_NODE', value: String(procsPerNode) },
      { name: 'PET_NODE_RANK', ...index },
      { name: 'PET_MASTER_ADDR', value: master },
      { name: 'PET_MASTER_PORT', value: port },
    );
    if (procsPerNode === 1) {
      // One process per pod: the pod's index is its rank. With more, torchrun sets RANK per process.
      env.push(
        { name: 'RANK', ...index },
        { name: 'LOCAL_RANK', value: '0' },
        { name: 'WORLD_SIZE', value: String(nodes) },
      );
    }
  }

  const job: V1Job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: o.namespace, labels },
    spec: {
      // Falaj retries attempts itself.
      backoffLimit: 0,
      completions: nodes,
      parallelism: nodes,
      ...(spec.distributed ? { completionMode: 'Indexed' } : {}),
      ...(spec.maxRuntimeSeconds !== undefined
        ? { activeDeadlineSeconds: Math.ceil(spec.maxRuntimeSeconds) }
        : {}),
      ttlSecondsAfterFinished: o.ttlSecondsAfterFinished ?? 86_400,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          terminationGracePeriodSeconds: o.terminationGracePeriodSeconds ?? 30,
          // The job sandbox of the other executors, as a pod: no API credentials, never root,
          // no capabilities, no privilege escalation, the runtime's seccomp profile, no host paths.
          automountServiceAccountToken: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: o.runAsUser ?? JOB_UID,
            runAsGroup: o.runAsUser ?? JOB_UID,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          ...(spec.distributed ? { subdomain: name } : {}),
          ...(o.serviceAccountName ? { serviceAccountName: o.serviceAccountName } : {}),
          ...(gpuRule?.nodeSelector ? { nodeSelector: { ...gpuRule.nodeSelector } } : {}),
          ...(gpuRule?.tolerations ? { tolerations: [...gpuRule.tolerations] } : {}),
          containers: [
            {
              name: 'main',
              image: o.image,
              // command, not args: the image's entrypoint is replaced and no shell is added.
              command: [...spec.command],
              ...(spec.workdir ? { workingDir: spec.workdir } : {}),
              env,
              envFrom: [{ secretRef: { name } }],
              securityContext: {
                allowPrivilegeEscalation: false,
                privileged: false,
                capabilities: { drop: ['ALL'] },
              },
              resources: { requests: { ...quantities }, limits: { ...quantities } },
            },
          ],
        },
      },
    },
  };
  const secret: V1Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: o.namespace, labels },
    type: 'Opaque',
    stringData: { ...req.env },
  };
  const service: V1Service | undefined = spec.distributed
    ? {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace: o.namespace, labels },
        spec: {
          clusterIP: 'None',
          // Pods resolve by name before they are ready: rank 0 must be reachable while the others start.
          publishNotReadyAddresses: true,
          selector: { 'job-name': name },
          ports: [{ name: 'master', port: o.masterPort ?? 29500 }],
        },
      }
    : undefined;
  return { job, secret, service };
}

function mergeRules(
  a: GpuPlacementRule | undefined,
  b: GpuPlacementRule | undefined,
): GpuPlacementRule | undefined {
  if (!a && !b) return undefined;
  const nodeSelector = { ...a?.nodeSelector, ...b?.nodeSelector };
  const tolerations = [...(a?.tolerations ?? []), ...(b?.tolerations ?? [])];
  return {
    ...(Object.keys(nodeSelector).length > 0 ? { nodeSelector } : {}),
    ...(tolerations.length > 0 ? { tolerations } : {}),
  };
}
