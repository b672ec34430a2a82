// The executors behind the one Executor interface (../types.ts); the server picks one by
// configuration (../server-executor.ts).
export { discoverNvidiaGpus, type GpuInfo, gpuTypeOf, parseNvidiaSmi } from './gpu-discovery.js';
export {
  type KubernetesApis,
  KubernetesExecutor,
  type KubernetesExecutorOptions,
  kubernetesApis,
} from './kubernetes.js';
export { attemptManifests, type GpuPlacementRule, kubernetesJobName } from './kubernetes-manifest.js';
export { attemptStatusOfJob } from './kubernetes-state.js';
export { LocalExecutor, type LocalExecutorOptions } from './local.js';
export { type ArraySubmitOptions, SlurmExecutor, type SlurmExecutorOptions } from './slurm.js';
export { SLURM_STATE_MAP } from './slurm-state.js';
