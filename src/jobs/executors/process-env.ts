// The environment an attempt's processes get. Jobs do not inherit the server's environment
// (it may hold database URLs and keys): only a short list of harmless variables (PATH, HOME,
// locale) is passed through, then the spec's env, then the launch request's (FALAJ_*, secrets).
import { FalajError } from '../../core/errors.js';
import { SANDBOX_INHERITED_ENV, type SandboxPolicy, sandboxBaseEnv } from '../sandbox/job-sandbox.js';
import type { LaunchRequest } from '../types.js';

/** Variables taken from the server's own environment when present. */
export const DEFAULT_INHERITED_ENV: readonly string[] = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'LANG',
  'LC_ALL',
  'TZ',
  'TMPDIR',
  'LD_LIBRARY_PATH',
];

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function assertEnvName(name: string): void {
  if (!ENV_NAME.test(name)) {
    throw new FalajError('FALAJ_INVALID_ARGUMENT', `'${name}' is not a valid environment variable name`, {
      name,
    });
  }
}

/** `base`, then inherited variables, then spec.env, then req.env; every name checked. */
export function buildProcessEnv(
  req: LaunchRequest,
  inherit: readonly string[] = DEFAULT_INHERITED_ENV,
  source: NodeJS.ProcessEnv = process.env,
  base: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const env: Record<string, string> = { ...base };
  for (const name of inherit) {
    const value = source[name];
    if (value !== undefined) env[name] = value;
  }
  for (const layer of [req.spec.env ?? {}, req.env]) {
    for (const [name, value] of Object.entries(layer)) {
      assertEnvName(name);
      env[name] = value;
    }
  }
  return env;
}

/**
 * An attempt's environment: in the job sandbox only its allow-list (job-sandbox.ts), with HOME
 * and TMPDIR inside it; unsandboxed, the short list above. `inherit` overrides either list.
 */
export function attemptEnv(
  req: LaunchRequest,
  sandbox: SandboxPolicy | undefined,
  inherit?: readonly string[],
): Record<string, string> {
  return sandbox
    ? buildProcessEnv(req, inherit ?? SANDBOX_INHERITED_ENV, process.env, sandboxBaseEnv(req.workDir))
    : buildProcessEnv(req, inherit ?? DEFAULT_INHERITED_ENV);
}

/** CUDA_VISIBLE_DEVICES for a placement's GPUs: "" (none visible) when it has none, so a CPU job cannot take a GPU. */
export function cudaVisibleDevices(gpus: readonly number[]): string {
  return gpus.join(',');
}
