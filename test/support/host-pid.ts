// A sandboxed job knows only the pids of its own PID namespace: tests that must signal or watch
// a job's process from outside find it by its command line in /proc.
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** The argv of a live process, or undefined when it is gone. */
function argvOf(pid: string): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
  } catch {
    return undefined;
  }
}

/** Waits (a generous deadline) for the one process whose argv matches, and returns its pid. */
export async function hostPidOf(match: (argv: string[]) => boolean, deadlineMs = 45_000): Promise<number> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const argv = argvOf(name);
      if (argv && match(argv)) return Number(name);
    }
    if (Date.now() > deadline) throw new Error('no such process');
    await sleep(50);
  }
}
