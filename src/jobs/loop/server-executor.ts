// The one executor a server runs jobs with, chosen by its configuration (--executor).
import os from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { FalajError } from '../../core/errors.js';
import type { Services } from '../../http/services.js';
import { AgentExecutor } from '../executors/agent.js';
import { KubernetesExecutor, kubernetesApis } from '../executors/kubernetes.js';
import { LocalExecutor } from '../executors/local.js';
import { SlurmExecutor } from '../executors/slurm.js';
import type { SandboxPolicy } from '../sandbox/job-sandbox.js';
import { resolveSandbox } from '../sandbox/sandbox-setup.js';
import type { Executor } from '../types.js';

export function serverExecutor(svc: Services, workRoot: string): Executor {
  const { config } = svc;
  switch (config.executor) {
    case 'slurm':
      return new SlurmExecutor({
        stateDir: path.join(workRoot, 'slurm'),
        ...(config.slurmPartition ? { partition: config.slurmPartition } : {}),
        ...serverSandbox(svc),
      });
    case 'agent':
      return new AgentExecutor(svc);
    case 'kubernetes': {
      const k8s = config.kubernetes;
      if (!k8s) throw new FalajError('FALAJ_CONFIG', 'the kubernetes executor has no configuration');
      return new KubernetesExecutor({
        apis: kubernetesApis(defaultKubeConfig()),
        namespace: k8s.namespace,
        image: k8s.image,
        ...(k8s.gpuTypes ? { gpuTypes: k8s.gpuTypes } : {}),
        ...(k8s.serviceAccountName ? { serviceAccountName: k8s.serviceAccountName } : {}),
      });
    }
    default:
      return new LocalExecutor({
        stateDir: path.join(workRoot, 'attempts'),
        nodeId: os.hostname(),
        ...(config.nvidiaSmi ? { nvidiaSmi: config.nvidiaSmi } : {}),
        ...serverSandbox(svc),
      });
  }
}

/**
 * The sandbox of jobs this server runs on its own machine or cluster (local, Slurm): on unless
 * the operator started it with --unsafe-unsandboxed-jobs; a machine that cannot sandbox stops
 * the server here (FALAJ_CONFIG) with what to install.
 */
function serverSandbox(svc: Services): { sandbox?: SandboxPolicy } {
  const { config } = svc;
  if (config.unsafeUnsandboxedJobs) return {};
  return {
    sandbox: resolveSandbox({
      hidden: [config.dataDir],
      jobPaths: config.jobPaths,
      sharedPaths: config.jobSharedPaths,
    }),
  };
}

/**
 * The cluster as kubectl finds it: KUBECONFIG, ~/.kube/config, or the pod's service account.
 * Checked at startup, so that a server with no cluster stops with the reason instead of failing
 * every scheduler pass.
 */
function defaultKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  try {
    kc.loadFromDefault();
  } catch (err) {
    throw new FalajError('FALAJ_CONFIG', `cannot load the kubeconfig: ${(err as Error).message}`);
  }
  const cluster = kc.getCurrentCluster();
  // With nothing found, loadFromDefault falls back to http://localhost:8080, which the client
  // then refuses (plain HTTP without insecure-skip-tls-verify) on every call.
  if (!cluster || (cluster.server.startsWith('http:') && !cluster.skipTLSVerify)) {
    throw new FalajError(
      'FALAJ_CONFIG',
      'the kubernetes executor found no usable cluster: set KUBECONFIG (or ~/.kube/config), or run the server in a pod with a service account',
      cluster ? { server: cluster.server } : undefined,
    );
  }
  return kc;
}
