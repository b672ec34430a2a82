// Finds what the job sandbox needs on this machine (bubblewrap, and the falaj-job user when
// the server runs as root) and proves it works with one sandboxed `true`, at startup: a server
// or agent that cannot confine its jobs refuses to start rather than run them unconfined.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FalajError } from '../../core/errors.js';
import { chownTree } from './chown-tree.js';
import { INSTALL_DIR, type SandboxPolicy, sandboxCommand } from './job-sandbox.js';

/** The unprivileged user jobs run as when the server runs as root (scripts/ensure-sandbox.sh creates it). */
export const JOB_USER = 'falaj-job';

export interface SandboxSetup {
  /** Never visible to jobs: the data directory, an agent's state. */
  readonly hidden: readonly string[];
  /** Folders jobs may read besides the system ones and this installation (`--job-paths`). */
  readonly jobPaths?: readonly string[];
  /** Folders jobs may read and write (`--job-shared-paths`). */
  readonly sharedPaths?: readonly string[];
  readonly bwrap?: string;
  readonly deviceDir?: string;
}

const REMEDY =
  'install bubblewrap and create the job user (bash scripts/ensure-sandbox.sh, or apt-get install bubblewrap), ' +
  'or start with --unsafe-unsandboxed-jobs to run jobs with everything the server can read';

/** Per bubblewrap binary: the facts of this machine once proven (a server builds apps many times in tests). */
const proven = new Map<string, Pick<SandboxPolicy, 'bwrap' | 'runAs'>>();

/** The policy for this machine, checked; FALAJ_CONFIG with what to install when it cannot work. */
export function resolveSandbox(setup: SandboxSetup): SandboxPolicy {
  const bwrap = setup.bwrap ?? 'bwrap';
  let machine = proven.get(bwrap);
  if (!machine) {
    machine = checkMachine(bwrap);
    proven.set(bwrap, machine);
  }
  return {
    ...machine,
    readOnly: [INSTALL_DIR, ...(setup.jobPaths ?? [])],
    readWrite: [...(setup.sharedPaths ?? [])],
    hidden: [...setup.hidden],
    ...(setup.deviceDir ? { deviceDir: setup.deviceDir } : {}),
  };
}

/** bubblewrap, the job user where the server is root, and one sandboxed `true`. */
function checkMachine(bwrap: string): Pick<SandboxPolicy, 'bwrap' | 'runAs'> {
  const version = spawnSync(bwrap, ['--version'], { encoding: 'utf8' });
  if (version.error || version.status !== 0) {
    throw new FalajError(
      'FALAJ_CONFIG',
      `jobs run in a bubblewrap sandbox, but '${bwrap}' was not found: ${REMEDY}`,
    );
  }
  const runAs = process.getuid?.() === 0 ? jobUser() : undefined;
  const machine = { bwrap, ...(runAs ? { runAs } : {}) };
  probe({ ...machine, readOnly: [INSTALL_DIR], hidden: [] });
  return machine;
}

function jobUser(): { name: string; uid: number; gid: number } {
  const id = (flag: string) => spawnSync('id', [flag, JOB_USER], { encoding: 'utf8' });
  const uid = id('-u');
  const gid = id('-g');
  if (uid.status !== 0 || gid.status !== 0) {
    throw new FalajError(
      'FALAJ_CONFIG',
      `the server runs as root, so jobs run as the unprivileged user '${JOB_USER}', which does not exist: ${REMEDY}`,
    );
  }
  return { name: JOB_USER, uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** One sandboxed `true`: catches a kernel without user namespaces, a broken bwrap, a missing setpriv. */
function probe(policy: SandboxPolicy): void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'falaj-sandbox-probe-'));
  try {
    if (policy.runAs) chownTree(dir, policy.runAs.uid, policy.runAs.gid);
    const argv = sandboxCommand(policy, { workDir: dir, cwd: dir, gpus: [], network: true }, ['true']);
    const r = spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8', timeout: 30_000 });
    if (r.error || r.status !== 0) {
      const why = (r.stderr || r.error?.message || `exit code ${r.status}`).trim().split('\n')[0];
      throw new FalajError(
        'FALAJ_CONFIG',
        `the job sandbox does not work on this machine (${why}); unprivileged user namespaces may be off ` +
          `(sysctl kernel.unprivileged_userns_clone=1): ${REMEDY}`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
