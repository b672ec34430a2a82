// The replica wire format (request-log entries round-trip, NaN and nulls included) and the
// Kubernetes manifest `falaj serve --manifest` prints (parsed as YAML, read as Kubernetes would).
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { serveManifest } from '../../../src/serving/replicas/manifest.js';
import { decodeLogEntry, encodeLogEntry } from '../../../src/serving/replicas/wire.js';
import type { RequestLogEntry } from '../../../src/serving/request-log/index.js';
import { assertBuilt, CLI } from '../../support/server-process.js';

describe('request-log wire format', () => {
  it('round-trips an entry through JSON: columns, NaN as null, classifier prediction', () => {
    const entry: RequestLogEntry = {
      requestId: 'r-1',
      time: 1_700_000_000_000,
      projectId: 'p',
      deploymentId: 'd',
      deployment: 'credit',
      revision: 3,
      model: 'credit',
      modelVersion: 2,
      variant: 'canary',
      protocol: 'v2',
      status: 200,
      latencyMs: 1.5,
      batch: {
        rows: 2,
        columns: new Map<string, Float64Array | (string | null)[]>([
          ['x1', Float64Array.from([0.5, Number.NaN])],
          ['group', ['A', null]],
        ]),
      },
      prediction: {
        kind: 'classifier',
        labels: ['yes', 'no'],
        classes: ['no', 'yes'],
        probabilities: [
          [0.2, 0.8],
          [0.7, 0.3],
        ],
      },
      privacy: { columns: [], policy: 'keep' },
    };
    const wire = JSON.parse(JSON.stringify(encodeLogEntry(entry)));
    expect(wire.batch.columns[0]).toEqual({ name: 'x1', kind: 'number', values: [0.5, null] });
    expect(wire).not.toHaveProperty('projectId');
    const back = decodeLogEntry(wire, {
      projectId: 'P',
      deploymentId: 'D',
      deployment: 'credit',
      privacy: { columns: ['group'], policy: 'hash' },
    });
    expect(back.projectId).toBe('P');
    expect(back.privacy).toEqual({ columns: ['group'], policy: 'hash' });
    expect(Array.from(back.batch!.columns.get('x1') as Float64Array)).toEqual([0.5, Number.NaN]);
    expect(back.batch!.columns.get('group')).toEqual(['A', null]);
    expect(back.prediction).toEqual(entry.prediction);
    expect(() =>
      decodeLogEntry(
        { ...wire, batch: { rows: 3, columns: wire.batch.columns } },
        {
          projectId: 'P',
          deploymentId: 'D',
          deployment: 'credit',
          privacy: { columns: [], policy: 'keep' },
        },
      ),
    ).toThrow(/values/);
  });
});

describe('falaj serve --manifest', () => {
  it('prints a Deployment and a Service: probes, the token from a Secret, a locked-down container', () => {
    assertBuilt();
    const r = spawnSync(
      process.execPath,
      [
        CLI,
        'serve',
        '--manifest',
        '--project',
        'alpha',
        '--deployments',
        'credit,fraud',
        '--replicas',
        '3',
        '--image',
        'registry.example/falaj:1.2',
        '--url',
        'https://falaj.example',
      ],
      { encoding: 'utf8', env: { ...process.env, FALAJ_TOKEN: 'secret-token-never-printed' } },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('secret-token-never-printed');
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS());
    expect(docs.map((d) => d.kind)).toEqual(['Deployment', 'Service']);
    const [dep, svc] = docs;
    expect(dep.apiVersion).toBe('apps/v1');
    expect(dep.spec.replicas).toBe(3);
    expect(dep.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/instance': 'falaj-serve' });
    expect(dep.spec.template.metadata.labels).toMatchObject(dep.spec.selector.matchLabels);
    const pod = dep.spec.template.spec;
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.automountServiceAccountToken).toBe(false);
    const [c] = pod.containers;
    expect(c.image).toBe('registry.example/falaj:1.2');
    expect([...c.command, ...c.args].join(' ')).toMatch(
      /^falaj serve --project alpha --deployments credit,fraud /,
    );
    expect(c.args).toContain('--advertise');
    expect(c.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    const env = Object.fromEntries(c.env.map((e: { name: string }) => [e.name, e]));
    expect(env.FALAJ_URL.value).toBe('https://falaj.example');
    expect(env.FALAJ_TOKEN.valueFrom.secretKeyRef).toEqual({ name: 'falaj-serve-token', key: 'token' });
    expect(env.FALAJ_TOKEN).not.toHaveProperty('value');
    // The read-only root: model files go to an emptyDir at /tmp.
    expect(c.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
    expect(pod.volumes).toContainEqual(
      expect.objectContaining({ name: 'tmp', emptyDir: expect.any(Object) }),
    );
    expect(svc.spec.selector).toEqual({ 'app.kubernetes.io/instance': 'falaj-serve' });
    expect(svc.spec.ports[0]).toMatchObject({ port: 7461, targetPort: 'http' });
  });

  it('refuses a manifest without an image, or with a bad name', () => {
    const base = {
      name: 'x',
      image: 'i',
      replicas: 1,
      serverUrl: 'http://s',
      project: 'p',
      deployments: [],
      tokenSecret: 't',
    };
    expect(() => serveManifest({ ...base, image: '' })).toThrow(/--image/);
    expect(() => serveManifest({ ...base, name: 'Bad_Name' })).toThrow(/DNS-1123/);
    expect(() => serveManifest({ ...base, replicas: 0 })).toThrow(/--replicas/);
  });
});
