// resolveConfig: the Kubernetes executor's settings and the public URL jobs are given. Bad
// values stop the server at startup with FALAJ_CONFIG, naming the flag, not at the first job.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/core/config.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'falaj-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};
const k8s = { executor: 'kubernetes', k8sImage: 'registry.example/train:1' };

describe('resolveConfig: the kubernetes executor', () => {
  it('is selectable, with the namespace defaulting to "default" and settings from flags or env', () => {
    const c = resolveConfig(k8s, {});
    expect(c.executor).toBe('kubernetes');
    expect(c.kubernetes).toEqual({
      namespace: 'default',
      image: 'registry.example/train:1',
      gpuTypes: undefined,
      serviceAccountName: undefined,
    });
    const fromEnv = resolveConfig(
      {},
      {
        FALAJ_EXECUTOR: 'kubernetes',
        FALAJ_K8S_IMAGE: 'img:2',
        FALAJ_K8S_NAMESPACE: 'ml',
        FALAJ_K8S_SERVICE_ACCOUNT: 'trainer',
      },
    );
    expect(fromEnv.kubernetes).toMatchObject({
      namespace: 'ml',
      image: 'img:2',
      serviceAccountName: 'trainer',
    });
    expect(
      resolveConfig({ ...k8s, k8sNamespace: 'team' }, { FALAJ_K8S_NAMESPACE: 'ml' }).kubernetes?.namespace,
    ).toBe('team');
    expect(resolveConfig({}, {}).kubernetes).toBeUndefined();
  });

  it('needs an image', () => {
    expect(() => resolveConfig({ executor: 'kubernetes' }, {})).toThrow(
      expect.objectContaining({ code: 'FALAJ_CONFIG', message: expect.stringMatching(/--k8s-image/) }),
    );
  });

  it('reads GPU placement rules from a YAML or JSON file', () => {
    const yaml = file(
      'gpus.yaml',
      `'*':
  tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
h100:
  nodeSelector: {nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3}
`,
    );
    expect(resolveConfig({ ...k8s, k8sGpuTypes: yaml }, {}).kubernetes?.gpuTypes).toEqual({
      '*': { tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }] },
      h100: { nodeSelector: { 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' } },
    });
    const json = file('gpus.json', JSON.stringify({ a100: { nodeSelector: { gpu: 'a100' } } }));
    expect(resolveConfig(k8s, { FALAJ_K8S_GPU_TYPES: json }).kubernetes?.gpuTypes).toEqual({
      a100: { nodeSelector: { gpu: 'a100' } },
    });
  });

  it.each([
    ['a missing file', path.join(dir, 'missing.yaml'), /ENOENT/],
    ['unparsable YAML', 'bad.yaml', /--k8s-gpu-types .*bad\.yaml/],
    ['a list', 'list.yaml', /must map GPU types/],
    ['an unknown field', 'field.yaml', /unknown field 'nodeSelctor'/],
    ['a non-string label value', 'label.json', /nodeSelector must map label names to strings/],
    ['tolerations that are not a list', 'tol.yaml', /tolerations must be a list/],
  ])('refuses a GPU types file with %s', (_what, name, message) => {
    const contents: Record<string, string> = {
      'bad.yaml': 'h100: {nodeSelector: [unclosed',
      'list.yaml': '- h100\n',
      'field.yaml': 'h100: {nodeSelctor: {a: b}}\n',
      'label.json': '{"h100": {"nodeSelector": {"count": 8}}}',
      'tol.yaml': 'h100: {tolerations: {key: x}}\n',
    };
    const p = path.isAbsolute(name) ? name : file(name, contents[name] ?? '');
    expect(() => resolveConfig({ ...k8s, k8sGpuTypes: p }, {})).toThrow(
      expect.objectContaining({ code: 'FALAJ_CONFIG', message: expect.stringMatching(message) }),
    );
  });

  it('names kubernetes among the executors when the kind is unknown', () => {
    expect(() => resolveConfig({ executor: 'nomad' }, {})).toThrow(
      /local, slurm, agent or kubernetes, got 'nomad'/,
    );
  });
});

describe('resolveConfig: the public URL', () => {
  it('is an http(s) URL, from the flag or FALAJ_PUBLIC_URL, without a trailing slash', () => {
    expect(resolveConfig({}, {}).publicUrl).toBeUndefined();
    expect(resolveConfig({ publicUrl: 'http://falaj.example:7460/' }, {}).publicUrl).toBe(
      'http://falaj.example:7460',
    );
    expect(resolveConfig({}, { FALAJ_PUBLIC_URL: 'https://falaj.example.com' }).publicUrl).toBe(
      'https://falaj.example.com',
    );
  });

  it.each(['falaj.example:7460', 'ftp://falaj.example', 'not a url', 'http://'])('refuses %s', (url) => {
    expect(() => resolveConfig({ publicUrl: url }, {})).toThrow(
      expect.objectContaining({
        code: 'FALAJ_CONFIG',
        message: expect.stringMatching(/--public-url must be an http\(s\) URL/),
      }),
    );
  });
});
