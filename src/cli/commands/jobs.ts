import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { FalajApiError, type FalajClient } from '../../client/index.js';
import { parseJobSpec, parseJobSpecText } from '../../jobs/job-spec.js';
import { isTerminalState } from '../../jobs/types.js';
import { uploadCode } from '../code-upload.js';
import { printResult } from '../output.js';
import { action, remoteOptions } from '../remote.js';

interface JobView {
  id: string;
  name: string;
  queue: string;
  state: string;
  reason: string | null;
  attempt: number;
  runId: string | null;
  exitCode: number | null;
  createdAt: string;
  events?: { at: string; attempt: number; from: string | null; to: string; reason: string | null }[];
}

const COLUMNS = ['id', 'name', 'queue', 'state', 'attempt', 'reason'] as const;

function jobsUrl(client: FalajClient): string {
  if (!client.project)
    throw new FalajApiError(
      0,
      'FALAJ_INVALID_ARGUMENT',
      'which project? pass --project or set FALAJ_PROJECT',
    );
  return `/api/v1/projects/${encodeURIComponent(client.project)}/jobs`;
}

function row(j: JobView) {
  return {
    id: j.id,
    name: j.name,
    queue: j.queue,
    state: j.state,
    attempt: j.attempt,
    reason: j.reason ?? '',
  };
}

export function registerJobCommands(program: Command): void {
  const jobs = program
    .command('jobs')
    .description('Compute jobs: submit, list, show, cancel, logs (--project or FALAJ_PROJECT)');

  remoteOptions(
    jobs
      .command('submit <args...>')
      .description('Submit SPEC.yaml (or .json), or a command after --: falaj jobs submit -- python train.py')
      .option('--name <name>', 'job name (with a command)')
      .option('--queue <queue>', 'queue (with a command; default "default")')
      .option('--cpu <n>', 'CPU cores (with a command)')
      .option('--memory <size>', 'memory, e.g. 2Gi (with a command)')
      .option('--gpu <n>', 'GPUs (with a command)')
      .option('--gpu-type <type>', 'GPU type (with a command)')
      .option('--code <dir>', 'snapshot this folder (tar, stored as a project artifact); the job runs in it')
      .option('--experiment <name>', 'tracking experiment of the job’s run (default "jobs")'),
  ).action(
    action(async (client, opts, args: string[]) => {
      let spec: unknown;
      const [first] = args;
      if (args.length === 1 && first && /\.(ya?ml|json)$/i.test(first))
        spec = parseJobSpecText(await readFile(first, 'utf8'), first);
      else {
        const command = args;
        const resources: Record<string, unknown> = {};
        if (opts.cpu !== undefined) resources.cpu = Number(opts.cpu);
        if (opts.memory !== undefined) resources.memory = opts.memory;
        if (opts.gpu !== undefined) resources.gpu = Number(opts.gpu);
        if (opts.gpuType !== undefined) resources.gpuType = opts.gpuType;
        spec = parseJobSpec({
          command,
          ...(opts.name ? { name: opts.name } : {}),
          ...(opts.queue ? { queue: opts.queue } : {}),
          ...(Object.keys(resources).length ? { resources } : {}),
        });
      }
      if (opts.code)
        spec = { ...(spec as object), code: { artifact: await uploadCode(client, String(opts.code)) } };
      const job = await client.post<JobView>(jobsUrl(client), {
        spec,
        ...(opts.experiment ? { experiment: opts.experiment } : {}),
      });
      if (opts.json) printResult(job, opts);
      else process.stdout.write(`${job.id}\n`);
    }),
  );

  remoteOptions(
    jobs
      .command('list')
      .description('Jobs of the project, newest first')
      .option('--state <state>', 'only this state'),
  ).action(
    action(async (client, opts) => {
      const q = opts.state ? `?state=${encodeURIComponent(String(opts.state))}` : '';
      const { jobs: list } = await client.get<{ jobs: JobView[] }>(`${jobsUrl(client)}${q}`);
      if (opts.json) printResult(list, opts);
      else printResult(list.map(row), opts, [...COLUMNS]);
    }),
  );

  remoteOptions(jobs.command('show <id>').description('A job with its transitions')).action(
    action(async (client, opts, id: string) => {
      const job = await client.get<JobView>(`${jobsUrl(client)}/${encodeURIComponent(id)}`);
      if (opts.json) return printResult(job, opts);
      printResult(row(job), opts, [...COLUMNS]);
      printResult(job.events ?? [], opts, ['at', 'attempt', 'from', 'to', 'reason']);
    }),
  );

  remoteOptions(
    jobs.command('cancel <id>').description('Cancel a job (SIGTERM, then SIGKILL after the grace period)'),
  ).action(
    action(async (client, opts, id: string) => {
      const job = await client.post<JobView>(`${jobsUrl(client)}/${encodeURIComponent(id)}/cancel`);
      if (opts.json) printResult(job, opts);
      else process.stdout.write(`${job.id} ${job.state}${job.reason ? ` (${job.reason})` : ''}\n`);
    }),
  );

  remoteOptions(
    jobs
      .command('logs <id>')
      .description('stdout and stderr of the job')
      .option('-f, --follow', 'stream until the job ends'),
  ).action(
    action(async (client, opts, id: string) => {
      const logsUrl = `${jobsUrl(client)}/${encodeURIComponent(id)}/logs`;
      // Follow across a job that has not started yet: wait for its attempt, then stream it.
      for (;;) {
        const res = await client.request<Response>('GET', logsUrl, {
          query: { follow: opts.follow ? 'true' : undefined },
          as: 'response',
        });
        let wrote = false;
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          wrote = true;
          process.stdout.write(chunk);
        }
        if (!opts.follow) return;
        const job = await client.get<JobView>(`${jobsUrl(client)}/${encodeURIComponent(id)}`);
        if (wrote || isTerminalState(job.state)) return;
        await new Promise((r) => setTimeout(r, 500));
      }
    }),
  );

  const queues = program.command('queues').description('Queues and their per-project quotas');
  remoteOptions(queues.command('list').description('Queues and quotas')).action(
    action(async (client, opts) => {
      const { queues: list } = await client.get<{ queues: { name: string; projects: unknown[] }[] }>(
        '/api/v1/queues',
      );
      if (opts.json) printResult(list, opts);
      else
        printResult(
          list.map((q) => ({ name: q.name, projects: q.projects.length })),
          opts,
          ['name', 'projects'],
        );
    }),
  );
  remoteOptions(
    queues.command('set <name> <config.json>').description('Create or replace a queue (owner)'),
  ).action(
    action(async (client, opts, name: string, file: string) => {
      const config = JSON.parse(await readFile(file, 'utf8')) as unknown;
      printResult(await client.put<object>(`/api/v1/queues/${encodeURIComponent(name)}`, config), opts);
    }),
  );
}
