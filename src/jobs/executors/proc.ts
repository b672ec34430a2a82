// What the local executor needs to know about processes it may not have started itself (after
// a server restart the attempt's processes are no longer our children): whether a pid is still
// the same process (its start time), and which live processes remain in a process group. Read
// from /proc on Linux; elsewhere signal 0 is the fallback (no pid-reuse check there).
import { readdirSync, readFileSync } from 'node:fs';

interface ProcStat {
  readonly state: string;
  readonly pgrp: number;
  /** Clock ticks after boot; with the boot id, names a process uniquely. */
  readonly startTime: string;
}

const hasProc = (() => {
  try {
    readFileSync('/proc/self/stat');
    return true;
  } catch {
    return false;
  }
})();

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself hold spaces or parentheses.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = rest[0];
  const pgrp = Number(rest[2]);
  const startTime = rest[19];
  if (state === undefined || startTime === undefined || !Number.isInteger(pgrp)) return undefined;
  return { state, pgrp, startTime };
}

/** The boot id, so that a pid recorded before a reboot is never taken for a live process. */
export function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

/** The start time of `pid`, or undefined when /proc cannot say. */
export function processStartTime(pid: number): string | undefined {
  return readStat(pid)?.startTime;
}

/** Whether `pid` is alive (not a zombie) and, when a start time is given, still the same process. */
export function processAlive(pid: number, startTime?: string): boolean {
  if (hasProc) {
    const stat = readStat(pid);
    if (!stat || stat.state === 'Z' || stat.state === 'X') return false;
    return startTime === undefined || stat.startTime === startTime;
  }
  return signalZero(pid);
}

/**
 * Live (non-zombie) processes of a process group. Zombies are skipped: where PID 1 does not reap
 * orphans, an exited process would otherwise look alive for ever.
 */
export function liveGroupMembers(pgid: number): number[] {
  if (!hasProc) return signalZero(-pgid) ? [pgid] : [];
  const members: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const stat = readStat(pid);
    if (stat && stat.pgrp === pgid && stat.state !== 'Z' && stat.state !== 'X') members.push(pid);
  }
  return members;
}

function signalZero(target: number): boolean {
  try {
    process.kill(target, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Sends a signal to a whole process group; a group that is already gone is not an error. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}
