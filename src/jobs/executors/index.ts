// The executors behind the one Executor interface (../types.ts), and a factory by kind.
import { FalajError } from '../../core/errors.js';
import type { Executor } from '../types.js';
import { KubernetesExecutor, type KubernetesExecutorOptions } from './kubernetes.js';
import { LocalExecutor, type LocalExecutorOptions } from './local.js';
import { SlurmExecutor, type SlurmExecutorOptions } from './slurm.js';

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

export interface ExecutorOptionsByKind {
  local: LocalExecutorOptions;
  slurm: SlurmExecutorOptions;
  kubernetes: KubernetesExecutorOptions;
}

export type ExecutorKind = keyof ExecutorOptionsByKind;

/** An executor of the given kind. The agent executor lives with `falaj agent` (not here). */
export function createExecutor<K extends ExecutorKind>(kind: K, options: ExecutorOptionsByKind[K]): Executor {
  switch (kind) {
    case 'local':
      return new LocalExecutor(options as LocalExecutorOptions);
    case 'slurm':
      return new SlurmExecutor(options as SlurmExecutorOptions);
    case 'kubernetes':
      return new KubernetesExecutor(options as KubernetesExecutorOptions);
    default:
      throw new FalajError(
        'FALAJ_CONFIG',
        `unknown executor kind '${String(kind)}' (local, slurm, kubernetes)`,
      );
  }
}
