// Runs Slurm's commands (sbatch, squeue, scontrol, scancel, sinfo) with no shell, capturing
// their output; environment values travel in the environment, never in argv (`ps` shows argv).
import { execFile } from 'node:child_process';
import { FalajError } from '../../core/errors.js';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export type SlurmCommand = 'sbatch' | 'squeue' | 'scontrol' | 'scancel' | 'sinfo' | 'sacct';

export class SlurmCli {
  readonly #bin: Partial<Record<SlurmCommand, string>>;
  readonly #timeoutMs: number;

  constructor(bin: Partial<Record<SlurmCommand, string>> = {}, timeoutMs = 30_000) {
    this.#bin = bin;
    this.#timeoutMs = timeoutMs;
  }

  run(command: SlurmCommand, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<CliResult> {
    const file = this.#bin[command] ?? command;
    return new Promise((resolve, reject) => {
      execFile(
        file,
        args,
        { timeout: this.#timeoutMs, maxBuffer: 64 * 1024 * 1024, env: env ?? process.env },
        (err, stdout, stderr) => {
          if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
            reject(
              new FalajError('FALAJ_CONFIG', `'${file}' was not found: is Slurm installed on this machine?`),
            );
            return;
          }
          if (err?.killed) {
            reject(
              new FalajError(
                'FALAJ_UNREACHABLE',
                `'${file} ${args.join(' ')}' did not answer in ${this.#timeoutMs} ms`,
              ),
            );
            return;
          }
          const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });
  }

  /** Runs and fails with the command's own message on a non-zero exit. */
  async check(command: SlurmCommand, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<string> {
    const r = await this.run(command, args, env);
    if (r.code !== 0) {
      throw new FalajError(
        'FALAJ_INTERNAL',
        `${command} failed: ${r.stderr.trim() || `exit code ${r.code}`}`,
        {
          command,
          args,
        },
      );
    }
    return r.stdout;
  }
}
