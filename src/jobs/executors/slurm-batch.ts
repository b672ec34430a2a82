// What the Slurm executor hands to sbatch: the options (resources, time, output) and a small
// batch script that runs the command's argv, each word single-quoted so the shell expands
// nothing. Environment values never appear here: sbatch gets only their names (`--export`).
import { FalajError } from '../../core/errors.js';
import type { JobSpec } from '../types.js';
import { shellQuote, shellQuoteArgv } from './shell-quote.js';

export interface SbatchOptions {
  readonly jobName: string;
  readonly outputPath: string;
  readonly chdir: string;
  readonly exportNames: readonly string[];
  readonly partition?: string;
  /** Falaj gpuType → the gres type the cluster uses (e.g. { h100: 'nvidia_h100' }). */
  readonly gpuTypes?: Readonly<Record<string, string>>;
  /** `--array=0-N%M` when submitting an array. */
  readonly array?: { readonly size: number; readonly maxConcurrent?: number };
  readonly extraArgs?: readonly string[];
}

const MiB = 1024 * 1024;

/** The sbatch options for a spec (resources are per node, as in the JobSpec). */
export function sbatchArgs(spec: JobSpec, o: SbatchOptions): string[] {
  const { resources } = spec;
  const nodes = spec.distributed?.nodes ?? 1;
  const procsPerNode = spec.distributed?.procsPerNode ?? 1;
  for (const [name, v] of [
    ['nodes', nodes],
    ['procsPerNode', procsPerNode],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new FalajError('FALAJ_INVALID_ARGUMENT', `distributed.${name} must be a positive integer`, {
        [name]: v,
      });
    }
  }
  if (!(resources.cpu > 0) || resources.memory < 0 || !Number.isInteger(resources.gpu) || resources.gpu < 0) {
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      'resources must have cpu > 0, memory ≥ 0 and a whole gpu ≥ 0',
      {
        resources,
      },
    );
  }
  const args = [
    '--parsable',
    `--job-name=${o.jobName}`,
    `--output=${o.outputPath}`,
    // The same file for both: Slurm then writes stdout and stderr interleaved as produced.
    `--error=${o.outputPath}`,
    `--chdir=${o.chdir}`,
    // Only these names (their values come from sbatch's environment): the server's own
    // environment stays out of the job, and no value is ever on a command line.
    `--export=${o.exportNames.length > 0 ? o.exportNames.join(',') : 'NIL'}`,
    `--nodes=${nodes}`,
    `--ntasks-per-node=${procsPerNode}`,
    `--cpus-per-task=${Math.max(1, Math.ceil(resources.cpu / procsPerNode))}`,
    // --mem=0 would mean "all of the node's memory".
    `--mem=${Math.max(1, Math.ceil(resources.memory / MiB))}M`,
  ];
  if (resources.gpu > 0) {
    const type = resources.gpuType ? (o.gpuTypes?.[resources.gpuType] ?? resources.gpuType) : undefined;
    args.push(`--gres=gpu:${type ? `${type}:` : ''}${resources.gpu}`);
  }
  if (spec.maxRuntimeSeconds !== undefined) {
    if (!(spec.maxRuntimeSeconds > 0)) {
      throw new FalajError('FALAJ_INVALID_ARGUMENT', 'maxRuntimeSeconds must be positive', {
        maxRuntimeSeconds: spec.maxRuntimeSeconds,
      });
    }
    const s = Math.ceil(spec.maxRuntimeSeconds);
    args.push(`--time=${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`);
  }
  if (o.partition) args.push(`--partition=${o.partition}`);
  if (o.array) {
    const limit = o.array.maxConcurrent ? `%${o.array.maxConcurrent}` : '';
    args.push(`--array=0-${o.array.size - 1}${limit}`);
  }
  args.push(...(o.extraArgs ?? []));
  return args;
}

export interface BatchScriptOptions {
  readonly title: string;
  readonly cwd: string;
  /** A shell word (already quoted) used instead of `cwd`, e.g. an array task's own directory. */
  readonly cwdShellWord?: string;
  /** A shell word (already quoted) naming the file an array task sources for its own variables. */
  readonly taskEnvFile?: string;
  /** A shell word (already quoted): where the script records how it ended (see EXIT_STATUS_FILE). */
  readonly exitStatusFile: string;
  /** Shell words (already quoted) put before the argv: the job sandbox's command (job-sandbox.ts). */
  readonly sandboxPrefix?: string;
}

/**
 * The file in an attempt's control dir where the batch script records how it ended, as its last
 * act: `code=N`, or `signal=N` when the command was killed by signal N. Slurm forgets a job
 * MinJobAge after it ends when there is no accounting database; this file still answers then.
 */
export const EXIT_STATUS_FILE = 'exit-status';

// Signals Slurm sends to every process of the job (scancel, the time limit) or that end a shell.
// The script traps them so that it outlives the command and can record its end; the command
// itself still gets them, from Slurm, with its own default handling (traps are not inherited).
const TRAPPED_SIGNALS = 'HUP INT QUIT TERM USR1 USR2';

/**
 * The batch script: checks the working directory and the command, runs the argv, records how it
 * ended (EXIT_STATUS_FILE) and exits as the command did, so that Slurm's own state stays right.
 */
export function batchScript(spec: JobSpec, o: BatchScriptOptions): string {
  if (spec.command.length === 0 || spec.command[0] === '') {
    throw new FalajError('FALAJ_INVALID_ARGUMENT', 'the job has no command');
  }
  const argv = o.sandboxPrefix
    ? `${o.sandboxPrefix} ${shellQuoteArgv(spec.command)}`
    : shellQuoteArgv(spec.command);
  const cwd = o.cwdShellWord ?? shellQuote(o.cwd);
  const lines = [
    '#!/bin/sh',
    `# ${o.title.replace(/\n/g, ' ')} — written by the Falaj Slurm executor (src/jobs/executors/slurm-batch.ts)`,
    // No `set -e`: every way out must pass through the recording below.
    'set +e',
    `falaj_status=${o.exitStatusFile}`,
    // tmp then rename in the same directory: a reader sees the whole line or no file.
    'falaj_end() {',
    '  printf \'%s\\n\' "$1" >"$falaj_status.tmp.$$" && mv -f "$falaj_status.tmp.$$" "$falaj_status"',
    '}',
    'falaj_exit() { falaj_end "code=$1"; exit "$1"; }',
  ];
  if (o.taskEnvFile) lines.push(`. ${o.taskEnvFile}`);
  lines.push(
    // Slurm would fall back to /tmp when --chdir fails; a job must not run somewhere else.
    `cd ${cwd} || { echo "falaj: working directory does not exist: "${cwd} >&2; falaj_exit 1; }`,
    `falaj_cmd=${shellQuote(spec.command[0] as string)}`,
    'if ! command -v "$falaj_cmd" >/dev/null 2>&1; then',
    '  echo "falaj: command not found: $falaj_cmd" >&2',
    '  falaj_exit 127',
    'fi',
  );
  if (spec.distributed) lines.push(...distributedSetup(spec.distributed.procsPerNode));
  lines.push(
    // A trapped signal waits until the foreground command has ended; signals sent to the batch
    // shell alone (`scancel --batch`, `--signal=B:...`) therefore no longer reach the command.
    `trap : ${TRAPPED_SIGNALS}`,
    // `(exec ...)`: the command is a program of its own (never a shell builtin or function) and
    // starts with Slurm's signal handling, not the script's traps.
    `(exec ${spec.distributed ? distributedRun(spec.distributed.procsPerNode, argv) : argv})`,
    'falaj_code=$?',
    // The shell reports "killed by signal N" as 128+N (so does a command that exits 128+N: the
    // two cannot be told apart here). The script then dies of the same signal, so that Slurm
    // sees a signal as it would have had the command been the batch process itself.
    'if [ "$falaj_code" -gt 128 ] && [ "$falaj_code" -le 192 ]; then',
    '  falaj_signal=$((falaj_code - 128))',
    '  falaj_end "signal=$falaj_signal"',
    // Dying of SIGSEGV or SIGABRT must not leave a core dump of the shell in the job's directory.
    '  ulimit -c 0 2>/dev/null',
    // The traps stay until here: a late signal must not cut the recording short.
    `  trap - ${TRAPPED_SIGNALS}`,
    '  kill -"$falaj_signal" $$',
    // Still here: the signal does not end a shell (ignored, or one that only stops or continues).
    '  exit "$falaj_code"',
    'fi',
    'falaj_exit "$falaj_code"',
  );
  return `${lines.join('\n')}\n`;
}

/** The rendezvous variables torchrun-style programs read, set once for every rank. */
function distributedSetup(procsPerNode: number): string[] {
  const lines = [
    'MASTER_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)',
    // The same port on every node, derived from the job id so that jobs sharing a node differ.
    'MASTER_PORT=$((20000 + SLURM_JOB_ID % 20000))',
    'export MASTER_ADDR MASTER_PORT',
  ];
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell syntax for the job, not a JS template
  if (procsPerNode > 1) lines.push(': "${OMP_NUM_THREADS:=1}"', 'export OMP_NUM_THREADS');
  return lines;
}

/** One srun step over all the job's tasks; srun exits with the highest exit status of the ranks (128+N for a signal). */
function distributedRun(procsPerNode: number, argv: string): string {
  const rankEnv = [
    'RANK=$SLURM_PROCID',
    'LOCAL_RANK=$SLURM_LOCALID',
    'WORLD_SIZE=$SLURM_NTASKS',
    `LOCAL_WORLD_SIZE=${procsPerNode}`,
    'GROUP_RANK=$SLURM_NODEID',
    'NODE_RANK=$SLURM_NODEID',
  ].join(' ');
  const rankScript = `export ${rankEnv}; exec "$@"`;
  // srun would otherwise export only sbatch's --export names and lose MASTER_ADDR.
  return `srun --export=ALL --kill-on-bad-exit=1 sh -c ${shellQuote(rankScript)} falaj-rank ${argv}`;
}

/**
 * What an array task sources: `export NAME='value'` lines for its own variables, its directory
 * (`falaj_task_dir`, not exported) and, when sandboxed, its sandbox command as the positional
 * parameters (`set -- ...`), which the script puts before the argv as "$@".
 */
export function taskEnvFile(
  env: Readonly<Record<string, string>>,
  task?: { readonly dir: string; readonly sandboxPrefix?: readonly string[] },
): string {
  const lines = Object.entries(env).map(([k, v]) => `export ${k}=${shellQuote(v)}\n`);
  if (task) lines.push(`falaj_task_dir=${shellQuote(task.dir)}\n`);
  if (task?.sandboxPrefix) lines.push(`set -- ${shellQuoteArgv(task.sandboxPrefix)}\n`);
  return lines.join('');
}
