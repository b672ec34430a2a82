// The sandbox every job attempt runs in (bubblewrap): new mount, PID, IPC and UTS namespaces;
// the system directories read-only; the attempt's own directory read-write; a private /tmp; no
// view of the data directory, other attempts, the server's home or any process outside. Where
// the server runs as root the job also runs as the unprivileged `falaj-job` user, with every
// capability dropped and no new privileges. docs/job-sandbox.md says what a job sees.
//
// The command it builds is an argv prefix, so that the local executor (through its wrapper),
// Slurm batch scripts and agents (local executors on their machines) run jobs the same way.
import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FalajError } from '../../core/errors.js';
import { isWithin } from '../../core/paths.js';
import type { LaunchRequest } from '../types.js';

/** How jobs are confined; built once per server or agent (sandbox-setup.ts). */
export interface SandboxPolicy {
  /** The bubblewrap binary. */
  readonly bwrap: string;
  /** The unprivileged user jobs run as, when the server runs as root. */
  readonly runAs?: { readonly name: string; readonly uid: number; readonly gid: number };
  /** Folders jobs see read-only at the same path besides the system ones (the install, --job-paths). */
  readonly readOnly: readonly string[];
  /** Folders jobs see read-write at the same path (--job-shared-paths: shared checkpoints, scratch). */
  readonly readWrite?: readonly string[];
  /** Folders never visible, even under a read-only folder (the data directory): masked with an empty tmpfs. */
  readonly hidden: readonly string[];
  /** Where the GPU device nodes are (default /dev); tests point it at nodes they made. */
  readonly deviceDir?: string;
}

/** One attempt's view. */
export interface SandboxRequest {
  /** The attempt's own directory: read-write, at the same path inside. */
  readonly workDir: string;
  /** Where the command starts (checked inside the sandbox). */
  readonly cwd: string;
  /** Indices of the granted GPUs: only their device nodes are bound in. */
  readonly gpus: readonly number[];
  /** false: no network at all (a queue's `network: none`). */
  readonly network: boolean;
}

/** The system folders bound read-only when they exist (symlinks, as on merged-/usr systems, are recreated). */
const SYSTEM_PATHS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc', '/opt'];

/** The NVIDIA driver's shared device nodes, bound in for any job granted a GPU. */
const NVIDIA_SHARED = ['nvidiactl', 'nvidia-uvm', 'nvidia-uvm-tools', 'nvidia-modeset', 'nvidia-caps'];

/** The folder of this Falaj installation (jobs run `falaj train` and the SDKs from it). */
export const INSTALL_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Signals the bubblewrap processes ignore so that the job alone gets them (see sandboxCommand). */
const FORWARDED_SIGNALS = 'HUP INT TERM';

/**
 * Runs inside the sandbox as the job's user, before the command: moves to the working
 * directory and checks the command, reporting a failure as one word on fd 3 (the local
 * executor's wrapper reads it; elsewhere fd 3 is closed and only the message on stderr stays).
 * `$0` is a label; `$1` the working directory; the rest the argv.
 */
export const LAUNCHER = `report() { { printf '%s\\n' "$1" >&3; } 2>/dev/null; }
cd "$1" 2>/dev/null || { report cwd; echo "falaj: working directory does not exist in the job sandbox: $1" >&2; exit 1; }
shift
case $1 in
*/*) f=$1 ;;
*) f=; IFS=:; for d in $PATH; do if [ -f "\${d:-.}/$1" ]; then f=\${d:-.}/$1; break; fi; done; unset IFS ;;
esac
if [ -z "$f" ] || [ ! -e "$f" ]; then report notfound; echo "falaj: command not found: $1" >&2; exit 127; fi
if [ -d "$f" ] || [ ! -x "$f" ]; then report denied; echo "falaj: permission denied: $1" >&2; exit 126; fi
exec 3>&-
exec "$@"`;

/** What the launcher reports on fd 3, as the wrapper words it. */
export const LAUNCH_FAILURES: Readonly<Record<string, (argv0: string, cwd: string) => string>> = {
  cwd: (_, cwd) => `working directory does not exist in the job sandbox: ${cwd}`,
  notfound: (argv0) => `command not found: ${argv0}`,
  denied: (argv0) => `permission denied: ${argv0}`,
};

/** `dir` and every folder above it, outermost first (without '/'). */
function ancestors(dir: string): string[] {
  const out: string[] = [];
  for (let d = path.resolve(dir); d !== path.dirname(d); d = path.dirname(d)) out.unshift(d);
  return out;
}

/** The bubblewrap options for one attempt (without the command). */
export function bwrapArgs(policy: SandboxPolicy, req: SandboxRequest): string[] {
  const args = [
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    '--die-with-parent',
    '--hostname',
    'falaj-job',
  ];
  if (!policy.runAs) args.push('--unshare-user', '--cap-drop', 'ALL');
  if (!req.network) args.push('--unshare-net');
  const visible: string[] = [];
  for (const p of SYSTEM_PATHS) {
    if (!existsSync(p)) continue;
    if (lstatSync(p).isSymbolicLink()) args.push('--symlink', readlinkSync(p), p);
    else args.push('--ro-bind', p, p);
    visible.push(p);
  }
  args.push('--proc', '/proc', '--dev', '/dev', '--perms', '1777', '--tmpfs', '/tmp');
  // The /dev/shm of --dev is root's; a job's shared memory (PyTorch data loaders) needs it writable.
  args.push('--perms', '1777', '--tmpfs', '/dev/shm');

  // Folders above a mount point are made by bubblewrap as 0700 root's, which a separate user
  // cannot cross: they are made first, traversable (0711: nothing of their contents shows).
  const masked = policy.hidden.map((h) => path.resolve(h));
  const made = new Set(['/tmp']);
  const shown = (d: string) =>
    made.has(d) || (visible.some((v) => isWithin(d, v)) && !masked.some((h) => isWithin(d, h) && d !== h));
  const parents = (p: string, mode: string) => {
    for (const d of ancestors(path.dirname(p))) {
      if (shown(d)) continue;
      args.push('--perms', mode, '--dir', d);
      made.add(d);
    }
  };
  const binds = [
    ...policy.readOnly.map((p) => ['--ro-bind', path.resolve(p)] as const),
    ...(policy.readWrite ?? []).map((p) => ['--bind', path.resolve(p)] as const),
  ];
  for (const [how, p] of binds) {
    if (!existsSync(p) || visible.some((v) => isWithin(p, v))) continue;
    parents(p, '0755');
    args.push(how, p, p);
    visible.push(p);
  }
  const deviceDir = policy.deviceDir ?? '/dev';
  if (req.gpus.length > 0) {
    for (const name of [...req.gpus.map((i) => `nvidia${i}`), ...NVIDIA_SHARED]) {
      const node = path.join(deviceDir, name);
      if (existsSync(node)) args.push('--dev-bind', node, `/dev/${name}`);
    }
  }
  // The data directory (and anything hidden) stays invisible even where a read-only folder holds it.
  for (const h of masked) {
    if (visible.some((v) => isWithin(h, v)) && existsSync(h)) args.push('--perms', '0711', '--tmpfs', h);
  }
  const workDir = path.resolve(req.workDir);
  parents(workDir, '0711');
  args.push('--bind', workDir, workDir, '--chdir', workDir);
  return args;
}

/**
 * The argv that runs `argv` in the sandbox. The bubblewrap processes ignore HUP, INT and TERM
 * (set by `sh`, inherited through exec), and `env --default-signal` restores them for the job:
 * cancelling signals the attempt's whole process group, and a bubblewrap that died of SIGTERM
 * would SIGKILL the sandbox (--die-with-parent) before the job could use its grace period.
 */
export function sandboxCommand(
  policy: SandboxPolicy,
  req: SandboxRequest,
  argv: readonly string[],
): string[] {
  const dropUser = policy.runAs
    ? [
        'setpriv',
        `--reuid=${policy.runAs.uid}`,
        `--regid=${policy.runAs.gid}`,
        '--clear-groups',
        '--inh-caps=-all',
        '--bounding-set=-all',
        '--no-new-privs',
        '--',
      ]
    : [];
  return [
    '/bin/sh',
    '-c',
    `trap '' ${FORWARDED_SIGNALS}; exec "$@"`,
    'falaj-sandbox',
    policy.bwrap,
    ...bwrapArgs(policy, req),
    '--',
    ...dropUser,
    'env',
    `--default-signal=${FORWARDED_SIGNALS.replaceAll(' ', ',')}`,
    '/bin/sh',
    '-c',
    LAUNCHER,
    'falaj-launch',
    req.cwd,
    ...argv,
  ];
}

/**
 * Whether an attempt gets the network (its queue's policy); a queue without one is refused where
 * there is no sandbox to take it away, rather than run with it.
 */
export function networkOf(req: LaunchRequest, sandbox: SandboxPolicy | undefined): boolean {
  if (req.network !== 'none') return true;
  if (!sandbox)
    throw new FalajError(
      'FALAJ_CONFIG',
      `queue '${req.spec.queue}' runs jobs without a network, which needs the job sandbox (this executor runs unsandboxed)`,
    );
  return false;
}

/**
 * Variables of the server's environment a sandboxed job gets: the search path and the locale.
 * Everything else (FALAJ_* secrets, PG*, AWS_*, DATABASE_URL...) stays out; HOME and TMPDIR are
 * set to places inside the sandbox.
 */
export const SANDBOX_INHERITED_ENV: readonly string[] = [
  'PATH',
  'LANG',
  'LANGUAGE',
  'LC_ALL',
  'LC_CTYPE',
  'LC_NUMERIC',
  'LC_TIME',
  'LC_COLLATE',
  'LC_MONETARY',
  'LC_MESSAGES',
  'TZ',
];

/** HOME and TMPDIR inside the sandbox; the job's own env may still set them. */
export function sandboxBaseEnv(workDir: string): Record<string, string> {
  return { HOME: path.resolve(workDir), TMPDIR: '/tmp' };
}
