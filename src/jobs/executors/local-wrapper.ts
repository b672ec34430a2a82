// The tiny wrapper the local executor starts in place of the command. It runs in the attempt's
// own process group, starts the command's process(es) with no shell, and writes how they ended
// to exit.json — so that the ending is known even when the server was down at that moment
// (after a restart the processes are no longer the server's children and cannot be waited on).
// It is plain CommonJS written into the attempt's directory: it must run under bare `node`,
// from src/ (tests) and dist/ alike.

/** What the wrapper reads from plan.json. Holds no environment values (secrets stay in env). */
export interface WrapperPlan {
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly exitFile: string;
  /** One entry per process to start: variables added to the inherited env (RANK, LOCAL_RANK...). */
  readonly procs: ReadonlyArray<Readonly<Record<string, string>>>;
  readonly maxRuntimeSeconds?: number;
  /** After the max runtime: SIGTERM, then SIGKILL this much later. */
  readonly killGraceSeconds: number;
  /**
   * Set when argv runs the command in the job sandbox (job-sandbox.ts): the working directory
   * and the command are checked inside it, by its launcher, which reports a failure on fd 3 as
   * one of these words (each mapped to its message); and a command killed by signal N reaches
   * the wrapper as exit code 128+N (bubblewrap's way), read back as that signal.
   */
  readonly sandbox?: { readonly failures: Readonly<Record<string, string>> };
}

/** What the wrapper writes to exit.json. */
export interface WrapperExit {
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** The command could not be started (not found, not executable, no working directory). */
  readonly error?: string;
  readonly timedOut?: boolean;
  readonly endedAt: string;
}

/**
 * The variable that carries the job's own NODE_OPTIONS past the wrapper (which is Node too).
 * The leading underscore marks it private to the wrapper: not one of the documented FALAJ_*
 * variables a job gets.
 */
export const WRAPPED_NODE_OPTIONS = '_FALAJ_WRAPPED_NODE_OPTIONS';

export const WRAPPER_SOURCE = `'use strict';
// Written by the Falaj local executor (src/jobs/executors/local-wrapper.ts).
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const plan = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const saved = process.env.${WRAPPED_NODE_OPTIONS};
delete process.env.${WRAPPED_NODE_OPTIONS};
if (saved !== undefined) process.env.NODE_OPTIONS = saved;
// Cancel signals the whole group; the wrapper must outlive its children to record their end.
// A handler (not 'ignore') leaves the default action in place for the children.
for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(s, () => {});
let result;
let timedOut = false;
let finished = false;
const children = [];
const failed = (r) => r.error !== undefined || r.signal !== null || r.exitCode !== 0;
function record(r) {
  if (result === undefined || (!failed(result) && failed(r))) result = r;
  if (failed(r)) for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
}
function finish() {
  if (finished) return;
  finished = true;
  const r = result ?? { exitCode: null, signal: 'SIGKILL' };
  const out = { exitCode: r.exitCode ?? null, signal: r.signal ?? null, endedAt: new Date().toISOString() };
  if (r.error !== undefined) out.error = r.error;
  if (timedOut) out.timedOut = true;
  fs.writeFileSync(plan.exitFile + '.tmp', JSON.stringify(out));
  fs.renameSync(plan.exitFile + '.tmp', plan.exitFile);
  // Whatever the command left running in its group dies with it, so its GPUs are really free.
  try { process.kill(-process.pid, 'SIGKILL'); } catch {}
  process.exit(0);
}
function startError(err) {
  const cmd = plan.argv[0];
  if (err.code === 'ENOENT') return 'command not found: ' + cmd;
  if (err.code === 'EACCES') return 'permission denied: ' + cmd;
  return 'cannot start ' + cmd + ': ' + err.message;
}
const os = require('node:os');
const signalName = (n) => Object.keys(os.constants.signals).find((k) => os.constants.signals[k] === n);
let cwdOk = plan.sandbox !== undefined;
try { cwdOk = cwdOk || fs.statSync(plan.cwd).isDirectory(); } catch {}
if (!cwdOk) {
  const error = 'working directory does not exist: ' + plan.cwd;
  process.stderr.write('falaj: ' + error + '\\n');
  result = { exitCode: null, signal: null, error };
  finish();
}
let pending = plan.procs.length;
for (const extra of plan.procs) {
  const stdio = plan.sandbox ? ['inherit', 'inherit', 'inherit', 'pipe'] : 'inherit';
  const child = spawn(plan.argv[0], plan.argv.slice(1), { cwd: plan.cwd, env: { ...process.env, ...extra }, stdio });
  children.push(child);
  let report = '';
  if (plan.sandbox) child.stdio[3].on('data', (d) => { report += d; });
  let settled = false;
  const settle = (r) => {
    if (settled) return;
    settled = true;
    record(r);
    if (--pending === 0) finish();
  };
  child.on('error', (err) => {
    const error = startError(err);
    process.stderr.write('falaj: ' + error + '\\n');
    settle({ exitCode: null, signal: null, error });
  });
  // 'close' (not 'exit'): the sandbox's report on fd 3 has been read by then.
  child.on('close', (code, signal) => {
    const failure = plan.sandbox && plan.sandbox.failures[report.trim()];
    if (failure !== undefined) return settle({ exitCode: code, signal, error: failure });
    const sig = plan.sandbox && code > 128 ? signalName(code - 128) : undefined;
    settle(sig ? { exitCode: null, signal: sig } : { exitCode: code, signal });
  });
}
if (plan.maxRuntimeSeconds !== undefined) {
  setTimeout(() => {
    timedOut = true;
    process.stderr.write('falaj: maximum runtime of ' + plan.maxRuntimeSeconds + ' s exceeded: stopping\\n');
    try { process.kill(-process.pid, 'SIGTERM'); } catch {}
    setTimeout(finish, plan.killGraceSeconds * 1000);
  }, plan.maxRuntimeSeconds * 1000);
}
`;
