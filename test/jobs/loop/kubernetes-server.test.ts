// A real server (`falaj server --executor kubernetes`) and the real CLI, with the cluster played
// by a fake API server (test/support/fake-kube-api.ts) that the server reaches through KUBECONFIG
// and the real @kubernetes/client-node. Shows the wiring: flags, the kubeconfig, FALAJ_URL from
// --public-url, submit → Job → success and logs, cancel, and the refusal of a code snapshot.
// NOT a cluster: no pod runs anything; the test says when a pod runs and how it ends.
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { V1Job } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliSession, startCliSession } from '../../support/cli-session.js';
import { FakeKubeApi } from '../../support/fake-kube-api.js';
import { assertBuilt, CLI } from '../../support/server-process.js';

const PUBLIC_URL = 'http://falaj.example:7460';
const NS = 'falaj-jobs';
let fake: FakeKubeApi;
let cli: CliSession;
let dir: string;
let kubeconfig: string;

/**
 * The CLI, asynchronously: the fake API server lives in this process, and a command whose
 * request makes the server call the cluster (logs, cancel) would deadlock a spawnSync.
 */
async function falajAsync(args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [CLI, ...args], {
    env: {
      ...process.env,
      FALAJ_TOKEN: '',
      FALAJ_RUN_ID: '',
      FALAJ_CONFIG: path.join(cli.sb.dataDir, 'cli.json'),
      FALAJ_URL: cli.server.url,
      FALAJ_PROJECT: 'ml',
    },
    timeout: 60_000,
  });
  return stdout;
}

/** The Job the server created for a Falaj job (polled: the scheduler starts it on its next pass). */
async function jobFor(id: string): Promise<V1Job> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const job = fake.jobs().find((j) => j.metadata?.labels?.['falaj.dev/job-id'] === id);
    if (job) return job;
    if (Date.now() > deadline) throw new Error(`no Kubernetes Job for ${id}:\n${cli.server.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  assertBuilt();
  fake = await FakeKubeApi.start([{ name: 'node-1', cpu: '8', memory: '32Gi' }]);
  dir = mkdtempSync(path.join(os.tmpdir(), 'falaj-k8s-server-'));
  kubeconfig = await fake.writeKubeconfig(dir);
  cli = await startCliSession({
    serverArgs: [
      '--executor',
      'kubernetes',
      '--k8s-image',
      'busybox:1',
      '--k8s-namespace',
      NS,
      '--public-url',
      PUBLIC_URL,
    ],
    serverEnv: { KUBECONFIG: kubeconfig },
  });
});

afterAll(async () => {
  await cli?.dispose();
  await fake?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a server with --executor kubernetes, against a fake API server', () => {
  it('runs a job as a Job whose Secret gives the public URL, to success, with its pod log', async () => {
    const id = cli.ok(['jobs', 'submit', '--', 'python', 'train.py']).trim();
    const job = await jobFor(id);
    const name = job.metadata?.name as string;
    expect(job.metadata?.namespace).toBe(NS);
    expect(job.spec?.template.spec?.containers[0]).toMatchObject({
      image: 'busybox:1',
      command: ['python', 'train.py'],
    });
    const env = fake.secretData(name);
    expect(env).toMatchObject({ FALAJ_URL: PUBLIC_URL, FALAJ_JOB_ID: id, FALAJ_PROJECT: 'ml' });
    expect(env.FALAJ_TOKEN).toBeTruthy();

    fake.runJob(name);
    fake.runJob(name, { exitCode: 0, log: 'epoch 1 loss 0.25\n' });
    const done = await cli.untilJob(id, ['succeeded', 'failed', 'cancelled']);
    expect(done.state, done.reason).toBe('succeeded');
    expect(done).toMatchObject({ executor: 'kubernetes', externalId: name, exitCode: 0 });
    expect(await falajAsync(['jobs', 'logs', id])).toBe('epoch 1 loss 0.25\n');
  });

  it('cancels a running job: its pods and Job are deleted and it ends cancelled', async () => {
    const id = cli.ok(['jobs', 'submit', '--', 'python', 'serve.py']).trim();
    const name = (await jobFor(id)).metadata?.name as string;
    const pod = fake.pods(name)[0]?.metadata?.name;
    fake.runJob(name);
    await cli.untilJob(id, ['running']);
    await falajAsync(['jobs', 'cancel', id]);
    expect(fake.deletedPods).toContainEqual({ name: pod, gracePeriodSeconds: 10 });
    expect(fake.deletedJobs).toContainEqual({ name, propagationPolicy: 'Foreground' });
    expect(fake.job(name)).toBeUndefined();
    const done = await cli.untilJob(id, ['cancelled', 'failed', 'succeeded']);
    expect(done.state, done.reason).toBe('cancelled');
  });

  it('fails a job with a code snapshot, saying why, and creates no Job for it', async () => {
    const code = path.join(dir, 'code');
    mkdirSync(code);
    writeFileSync(path.join(code, 'train.py'), 'print("hi")\n');
    const id = cli.ok(['jobs', 'submit', '--code', code, '--', 'python', 'train.py']).trim();
    const done = await cli.untilJob(id, ['failed', 'succeeded', 'cancelled']);
    expect(done.state).toBe('failed');
    expect(done.reason).toContain(
      'the kubernetes executor runs code from its image or a path mounted in it; a code snapshot (--code) needs the local, slurm or agent executor',
    );
    expect(fake.jobs().some((j) => j.metadata?.labels?.['falaj.dev/job-id'] === id)).toBe(false);
  });

  it('refuses to start without an image, or without a cluster to reach', () => {
    const server = (args: string[], env: Record<string, string>) =>
      spawnSync(
        process.execPath,
        [
          CLI,
          'server',
          '--data-dir',
          path.join(dir, 'other'),
          '--port',
          '0',
          '--executor',
          'kubernetes',
          ...args,
        ],
        { encoding: 'utf8', timeout: 60_000, env: { ...process.env, FALAJ_K8S_IMAGE: '', ...env } },
      );
    const noImage = server([], { KUBECONFIG: kubeconfig });
    expect(noImage.status).toBe(1);
    expect(noImage.stderr).toMatch(/FALAJ_CONFIG: .*--k8s-image/);
    const noCluster = server(['--k8s-image', 'busybox:1'], { KUBECONFIG: path.join(dir, 'missing.yaml') });
    expect(noCluster.status).toBe(1);
    expect(noCluster.stderr).toMatch(/FALAJ_CONFIG: cannot load the kubeconfig/);
  });
});
