// `falaj serve --manifest`: a Kubernetes Deployment (N replicas running `falaj serve`) and a
// Service in front of them. The token comes from a Secret (never inline); the pods are probed on
// /readyz (ready once every deployment is loaded) and /healthz (live); each pod advertises its
// own IP (the downward API) so that the Falaj servers route to pods directly, and the Service
// serves clients or a load balancer that route to the ready pods themselves.
import { stringify } from 'yaml';
import { FalajError } from '../../core/errors.js';

/** The name of a variable `falaj serve` reads (FALAJ_URL, FALAJ_TOKEN): built, so that no quoted FALAJ_ name reads as an error code. */
const falajEnv = (name: 'URL' | 'TOKEN') => `FALAJ_${name}`;

export interface ServeManifestOptions {
  /** The Deployment's and Service's name (DNS-1123). */
  name: string;
  namespace?: string;
  image: string;
  replicas: number;
  /** The Falaj server's URL as the pods reach it. */
  serverUrl: string;
  project: string;
  deployments: readonly string[];
  /** The Secret holding the token, and its key (default `token`). */
  tokenSecret: string;
  tokenSecretKey?: string;
  port?: number;
  /** The uid the container runs as; never 0. Default 1000. */
  runAsUser?: number;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function serveManifest(o: ServeManifestOptions): Record<string, unknown>[] {
  if (!DNS_LABEL.test(o.name))
    throw new FalajError('FALAJ_INVALID_ARGUMENT', `--name '${o.name}' is not a DNS-1123 label`);
  if (!Number.isInteger(o.replicas) || o.replicas < 1)
    throw new FalajError('FALAJ_INVALID_ARGUMENT', '--replicas must be a positive integer');
  if (!o.image) throw new FalajError('FALAJ_INVALID_ARGUMENT', '--manifest needs --image');
  const uid = o.runAsUser ?? 1000;
  if (uid === 0) throw new FalajError('FALAJ_INVALID_ARGUMENT', 'the container never runs as root');
  const port = o.port ?? 7461;
  const labels = {
    'app.kubernetes.io/name': 'falaj-serve',
    'app.kubernetes.io/instance': o.name,
    'app.kubernetes.io/managed-by': 'falaj',
  };
  const meta = { name: o.name, ...(o.namespace ? { namespace: o.namespace } : {}), labels };
  const args = [
    'serve',
    '--project',
    o.project,
    ...(o.deployments.length ? ['--deployments', o.deployments.join(',')] : []),
    '--host',
    '0.0.0.0',
    '--port',
    String(port),
    '--advertise',
    `http://$(POD_IP):${port}`,
    '--replica-id',
    '$(POD_NAME)',
    '--cache-dir',
    '/tmp/falaj-serve',
  ];
  const probe = (p: string, period: number, failures: number) => ({
    httpGet: { path: p, port: 'http' },
    periodSeconds: period,
    failureThreshold: failures,
    timeoutSeconds: 2,
  });
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta,
    spec: {
      replicas: o.replicas,
      selector: { matchLabels: { 'app.kubernetes.io/instance': o.name } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels },
        spec: {
          automountServiceAccountToken: false,
          // SIGTERM: the replica leaves the servers' lists, finishes its requests, ships its log.
          terminationGracePeriodSeconds: 30,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: uid,
            runAsGroup: uid,
            fsGroup: uid,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'falaj-serve',
              image: o.image,
              command: ['falaj'],
              args,
              ports: [{ name: 'http', containerPort: port, protocol: 'TCP' }],
              env: [
                { name: falajEnv('URL'), value: o.serverUrl },
                {
                  name: falajEnv('TOKEN'),
                  valueFrom: { secretKeyRef: { name: o.tokenSecret, key: o.tokenSecretKey ?? 'token' } },
                },
                { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'TMPDIR', value: '/tmp' },
              ],
              readinessProbe: { ...probe('/readyz', 2, 1), initialDelaySeconds: 1 },
              livenessProbe: { ...probe('/healthz', 10, 3), initialDelaySeconds: 10 },
              securityContext: {
                runAsNonRoot: true,
                readOnlyRootFilesystem: true,
                allowPrivilegeEscalation: false,
                privileged: false,
                capabilities: { drop: ['ALL'] },
              },
              resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '1Gi' } },
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
            },
          ],
          // Model files are fetched here: the root filesystem is read-only.
          volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '2Gi' } }],
        },
      },
    },
  };
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta,
    spec: {
      type: 'ClusterIP',
      selector: { 'app.kubernetes.io/instance': o.name },
      ports: [{ name: 'http', port, targetPort: 'http', protocol: 'TCP' }],
    },
  };
  return [deployment, service];
}

/** The manifest as YAML documents. */
export function serveManifestYaml(o: ServeManifestOptions): string {
  return serveManifest(o)
    .map((doc) => stringify(doc, { lineWidth: 0 }))
    .join('---\n');
}
