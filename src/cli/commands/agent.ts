import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { parseJobPaths } from '../../core/config.js';
import { FalajError } from '../../core/errors.js';
import { AgentLoop } from '../../jobs/agent/worker/agent-loop.js';
import { httpAgentTransport } from '../../jobs/agent/worker/http-transport.js';
import { LocalExecutor } from '../../jobs/executors/local.js';
import { parseMemory } from '../../jobs/job-spec.js';
import { resolveSandbox } from '../../jobs/sandbox/sandbox-setup.js';
import { reportError } from '../remote.js';

export function registerAgentCommand(program: Command): void {
  program
    .command('agent')
    .description(
      'Run jobs of a server started with --executor agent on this machine. SIGTERM: take no new work, ' +
        'finish the running attempts, then exit (a second SIGTERM or SIGINT exits at once, leaving them to run unwatched)',
    )
    .option('--url <url>', 'server URL (default: FALAJ_URL)')
    .option(
      '--token <token>',
      'an agent token from `falaj agents tokens create` (or an owner session; default: FALAJ_TOKEN)',
    )
    .option('--name <name>', 'agent name (default: the hostname)')
    .option('--work-dir <dir>', 'where attempts run and their records live', '.falaj-agent')
    .option('--cpu <n>', 'CPU cores to offer (default: all of this machine)')
    .option('--memory <size>', 'memory to offer, e.g. 16Gi (default: all of this machine)')
    .option(
      '--job-paths <dirs>',
      "':'-separated folders jobs may read (read-only) besides the system ones (FALAJ_JOB_PATHS)",
    )
    .option(
      '--job-shared-paths <dirs>',
      "':'-separated folders jobs may read and write, e.g. shared checkpoints (FALAJ_JOB_SHARED_PATHS)",
    )
    .option(
      '--unsafe-unsandboxed-jobs',
      "run jobs WITHOUT the sandbox: they see everything this agent's user can (a warning at every start)",
    )
    .action(async (opts: Record<string, string | undefined>) => {
      try {
        await runAgent(opts);
      } catch (err) {
        reportError(err, false);
      }
    });
}

async function runAgent(opts: Record<string, string | undefined>): Promise<void> {
  const url = opts.url || process.env.FALAJ_URL;
  const token = opts.token || process.env.FALAJ_TOKEN;
  if (!url || !token) throw new FalajError('FALAJ_INVALID_ARGUMENT', 'falaj agent needs --url and --token');
  const workDir = path.resolve(opts.workDir ?? '.falaj-agent');
  const name = opts.name || os.hostname();
  // Jobs see their own attempt directory, never the agent's state nor another attempt's.
  const unsafe = Boolean(opts.unsafeUnsandboxedJobs) || process.env.FALAJ_UNSAFE_UNSANDBOXED_JOBS === '1';
  if (unsafe)
    process.stderr.write('falaj agent: WARNING: jobs run WITHOUT the sandbox (--unsafe-unsandboxed-jobs)\n');
  const jobPaths = parseJobPaths('--job-paths', opts.jobPaths ?? process.env.FALAJ_JOB_PATHS, workDir);
  const sharedPaths = parseJobPaths(
    '--job-shared-paths',
    opts.jobSharedPaths ?? process.env.FALAJ_JOB_SHARED_PATHS,
    workDir,
  );
  const executor = new LocalExecutor({
    stateDir: path.join(workDir, 'state'),
    nodeId: name,
    ...(process.env.FALAJ_NVIDIA_SMI ? { nvidiaSmi: process.env.FALAJ_NVIDIA_SMI } : {}),
    ...(unsafe ? {} : { sandbox: resolveSandbox({ hidden: [workDir], jobPaths, sharedPaths }) }),
  });
  const [node] = await executor.discover();
  if (!node) throw new FalajError('FALAJ_INTERNAL', 'could not discover this machine');
  const cpu = opts.cpu !== undefined ? Number(opts.cpu) : node.cpu;
  if (!(cpu > 0))
    throw new FalajError('FALAJ_INVALID_ARGUMENT', `--cpu must be a positive number, got '${opts.cpu}'`);
  const memory = opts.memory !== undefined ? parseMemory('--memory', opts.memory) : node.memory;
  const loop = new AgentLoop({
    transport: httpAgentTransport(url, token),
    serverUrl: url,
    executor,
    name,
    capacity: { cpu, memory, gpus: node.gpus, labels: { ...node.labels, executor: 'agent' } },
    // Attempts run under the agent's own work dir: the server's paths mean nothing here.
    workDirFor: (req) => path.join(workDir, 'attempts', req.jobId, String(req.attempt)),
    log: (line) => process.stderr.write(`falaj agent: ${line}\n`),
  });
  const id = await loop.start();
  process.stdout.write(`${JSON.stringify({ msg: 'falaj agent registered', id, name, cpu, memory })}\n`);
  await new Promise<void>((resolve) => {
    let signals = 0;
    const onSignal = () => {
      signals++;
      if (signals === 1) {
        process.stdout.write(`${JSON.stringify({ msg: 'falaj agent draining' })}\n`);
        void loop.drain().then(resolve);
      } else void loop.stop().then(resolve);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  process.exit(0);
}
