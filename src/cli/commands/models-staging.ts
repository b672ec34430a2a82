// `falaj models evaluate|evaluations|gates|promote|promotions|approve|reject|withdraw|card|webhooks`:
// the staging step of the registry (src/registry/staging/), under the `models` command group.
// A version is named NAME@VERSION, NAME@ALIAS or models:/...; the project by --project or
// FALAJ_PROJECT.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Command } from 'commander';
import { FalajApiError, type FalajClient } from '../../client/index.js';
import { FalajError } from '../../core/errors.js';
import type { EvaluationOptions } from '../../registry/staging/evaluation/local-run.js';
import { printMessage, printResult } from '../output.js';
import { action, remoteOptions } from '../remote.js';
import { modelsUrl } from './models.js';

const enc = encodeURIComponent;

function projectUrl(client: FalajClient): string {
  return modelsUrl(client).replace(/\/models$/, '');
}

/** The model and version number a reference names (resolved by the server: aliases too). */
async function resolveRef(
  client: FalajClient,
  ref: string,
): Promise<{ name: string; version: number; base: string }> {
  const out = await client.get<{ version: { name: string; version: number } }>(
    `${modelsUrl(client)}/resolve?uri=${enc(ref)}`,
  );
  const { name, version } = out.version;
  return { name, version, base: `${modelsUrl(client)}/${enc(name)}/versions/${version}` };
}

const list = (v: unknown) =>
  typeof v === 'string' && v.trim() !== ''
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;

function bad(message: string): FalajApiError {
  return new FalajApiError(0, 'FALAJ_INVALID_ARGUMENT', message);
}

/** Uploads a local CSV or Parquet file into the project's artifacts, content-addressed; returns its path. */
async function uploadEvaluationFile(client: FalajClient, file: string): Promise<string> {
  if (!existsSync(file) || !statSync(file).isFile()) throw bad(`no such file: ${file}`);
  const ext = path.extname(file).toLowerCase();
  if (ext !== '.csv' && ext !== '.parquet') throw bad('--file must be a .csv or .parquet file');
  const digest = createHash('sha256').update(readFileSync(file)).digest('hex');
  const artifact = `evaluation-data/${digest.slice(0, 16)}/${path.basename(file).replace(/[^A-Za-z0-9._-]/g, '_')}`;
  await client.request(
    'PUT',
    `${projectUrl(client)}/artifacts/files/${artifact.split('/').map(enc).join('/')}`,
    {
      body: () => ({
        body: Readable.toWeb(createReadStream(file)),
        headers: { 'content-type': 'application/octet-stream' },
      }),
    },
  );
  return artifact;
}

interface Evaluation {
  id: string;
  kind: string;
  rowCount: number | null;
  dataDigest: string | null;
  createdAt: string;
  createdBy: string;
  result: {
    data: string;
    metrics: Record<string, number | null>;
    fairness?: Record<
      string,
      {
        column: string;
        report: {
          fairlearn: { demographicParityRatio: number | null; equalizedOddsDifference: number | null };
          fourFifthsRule: { passed: boolean; failingGroups: string[] };
        } | null;
        reason?: string;
      }
    >;
  };
}

const fmt = (v: number | null | undefined) =>
  v === null || v === undefined ? '-' : String(Math.round(v * 10000) / 10000);

function printEvaluation(e: Evaluation): void {
  process.stdout.write(
    `evaluation ${e.id} (${e.kind}) on ${e.result.data}${e.rowCount !== null ? `, ${e.rowCount} rows` : ''}\n`,
  );
  printResult(
    Object.entries(e.result.metrics).map(([metric, value]) => ({ metric, value: fmt(value) })),
    {},
    ['metric', 'value'],
  );
  for (const f of Object.values(e.result.fairness ?? {})) {
    if (!f.report) {
      process.stdout.write(`fairness by ${f.column}: ${f.reason ?? 'not available'}\n`);
      continue;
    }
    const r = f.report;
    process.stdout.write(
      `fairness by ${f.column}: demographic parity ratio ${fmt(r.fairlearn.demographicParityRatio)}, equalized odds difference ${fmt(r.fairlearn.equalizedOddsDifference)}, four-fifths rule ${r.fourFifthsRule.passed ? 'holds' : `fails (${r.fourFifthsRule.failingGroups.join('; ')})`}\n`,
    );
  }
}

interface Check {
  name: string;
  value: unknown;
  threshold: unknown;
  passed: boolean;
  detail: string;
}

function printGates(run: {
  id: string;
  passed: boolean;
  policyRevision: number | null;
  checks: Check[];
}): void {
  process.stdout.write(
    `gates ${run.passed ? 'PASSED' : 'FAILED'} (run ${run.id}, policy revision ${run.policyRevision ?? 'none'})\n`,
  );
  if (run.checks.length > 0)
    printResult(
      run.checks.map((c) => ({
        check: c.name,
        value: typeof c.value === 'number' ? fmt(c.value) : c.value,
        threshold: typeof c.threshold === 'number' ? fmt(c.threshold) : c.threshold,
        outcome: c.passed ? 'pass' : 'FAIL',
        detail: c.detail,
      })),
      {},
      ['check', 'value', 'threshold', 'outcome', 'detail'],
    );
}

interface Promotion {
  id: string;
  model: string;
  version: number;
  alias: string;
  state: string;
  requestedBy: string;
  requestedAt: string;
  decidedBy: string | null;
  overrideBy: string | null;
}

const promotionRow = (p: Promotion) => ({
  id: p.id,
  model: `${p.model}@${p.version}`,
  alias: p.alias,
  state: p.state,
  requested_by: p.requestedBy,
  decided_by: p.decidedBy,
  override: p.overrideBy ? 'yes' : '',
});

interface RequestView {
  id: string;
  state: 'pending' | 'done' | 'failed';
  model: string;
  version: number;
  jobId: string;
  request: EvaluationOptions & { dataset: string };
  dataDigest: string | null;
  dataColumns: string[] | null;
  modelFiles: { name: string; path: string; digest: string }[];
  evaluationId: string | null;
  error: string | null;
}

/** Polls an evaluation request until it is no longer pending; a failed one is an error. */
async function waitForRequest(client: FalajClient, id: string): Promise<RequestView> {
  for (;;) {
    const r = await client.get<RequestView>(`${projectUrl(client)}/evaluation-requests/${enc(id)}`);
    if (r.state === 'done') return r;
    if (r.state === 'failed')
      throw new FalajApiError(
        0,
        'FALAJ_INTERNAL',
        `evaluation request ${id} failed: ${r.error ?? 'no reason given'}`,
        {
          request: id,
          job: r.jobId,
        },
      );
    await new Promise((res) => setTimeout(res, 1000));
  }
}

/** Streams a GET into `file`, checking the bytes against the digest the server gave. */
async function download(client: FalajClient, url: string, file: string, digest: string): Promise<void> {
  const res = await client.request<Response>('GET', url, { as: 'response' });
  const hash = createHash('sha256');
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  await pipeline(Readable.fromWeb(res.body as unknown as WebReadableStream), tap, createWriteStream(file));
  const got = hash.digest('hex');
  if (got !== digest)
    throw new FalajApiError(
      0,
      'FALAJ_DATA_INVALID',
      `${url}: downloaded bytes have digest ${got}, not ${digest}`,
    );
}

/**
 * The evaluator: reads the request, downloads the version's model files and the dataset
 * version's Parquet through the API, runs the same engine as the server (local-run.ts) and
 * posts the result to the request. Whatever fails is posted as the request's failure.
 */
async function runEvaluationRequest(client: FalajClient, id: string): Promise<Evaluation> {
  const requests = `${projectUrl(client)}/evaluation-requests/${enc(id)}`;
  const r = await client.get<RequestView>(requests);
  if (r.state !== 'pending') throw bad(`evaluation request ${id} is ${r.state}, not pending`);
  // The engine (and onnxruntime) loads here only, not with every CLI command.
  const { checkKnownColumns, openModelDir, scoreFile } = await import(
    '../../registry/staging/evaluation/local-run.js'
  );
  const dir = await mkdtemp(path.join(os.tmpdir(), 'falaj-evaluate-'));
  try {
    const { dataset, ...input } = r.request;
    try {
      for (const f of r.modelFiles)
        await download(
          client,
          `${projectUrl(client)}/artifacts/files/${f.path.split('/').map(enc).join('/')}`,
          path.join(dir, f.name),
          f.digest,
        );
      const model = await openModelDir(
        dir,
        r.modelFiles.map((f) => f.name),
        String(r.version),
        input.features ? { features: input.features } : {},
      );
      try {
        const data = { kind: 'dataset' as const, label: dataset, columns: r.dataColumns };
        checkKnownColumns(model, data, input);
        const at = dataset.lastIndexOf('@');
        const file = path.join(dir, 'data.parquet');
        await download(
          client,
          `${projectUrl(client)}/datasets/${enc(dataset.slice(0, at))}/versions/${dataset.slice(at + 1)}/data`,
          file,
          r.dataDigest ?? '',
        );
        const { result, runtime } = await scoreFile(model, file, data, input);
        return await client.post<Evaluation>(`${requests}/result`, { result, runtime });
      } finally {
        await model.release();
      }
    } catch (err) {
      // A refused result (not pending any more) is not this request's failure to report.
      if (!(err instanceof FalajApiError && err.status === 409)) {
        const message = err instanceof Error ? err.message : String(err);
        const code = err instanceof FalajApiError ? err.errorCode : err instanceof FalajError ? err.code : '';
        await client
          .post(`${requests}/failure`, { error: `${code ? `${code}: ` : ''}${message}`.slice(0, 4000) })
          .catch(() => {});
      }
      throw err;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Adds the staging subcommands to the `models` command group. */
export function registerModelStagingCommands(models: Command): void {
  remoteOptions(
    models
      .command('evaluate <model>')
      .description(
        'Evaluate a version (NAME@VERSION) on a dataset version (--data NAME@N) or a CSV/Parquet file (--file): every trainer metric, slices, fairness per sensitive column; or attach the trainer’s cross-validation (--cv)',
      )
      .option('--data <dataset@N>', 'a dataset version of the project')
      .option('--file <file>', 'a local CSV or Parquet file (uploaded to the project’s artifacts first)')
      .option('--artifact <path>', 'a CSV or Parquet file already in the project’s artifacts')
      .option('--target <column>', "the column holding the truth (default: the training run's target)")
      .option('--sensitive <cols>', 'comma-separated sensitive columns: a fairness report for each')
      .option('--slices <cols>', 'comma-separated columns to report metrics per value of')
      .option('--positive-class <class>', 'binary models: the favourable class (default the second)')
      .option(
        '--threshold <p>',
        'binary models: p(positive) from which a row is predicted positive (default 0.5)',
      )
      .option('--min-group-size <n>', 'fairness groups smaller than this are flagged small (default 30)')
      .option(
        '--features <cols>',
        'a foreign ONNX model with one matrix input: the columns that feed it, in order',
      )
      .option('--cv', "attach the trainer's own cross-validation results instead")
      .option(
        '--submit',
        'run the evaluation as a job (the built-in evaluator; --data only): prints the request and job ids',
      )
      .option('--wait', 'with --submit: wait until the job has stored the evaluation, and print it')
      .option('--queue <queue>', 'the job queue of --submit (default "default")'),
  ).action(
    action(async (client, opts, ref: string) => {
      const { base } = await resolveRef(client, ref);
      if ((opts.wait || opts.queue) && !opts.submit) throw bad('--wait and --queue go with --submit');
      if (opts.submit && (opts.cv || opts.data === undefined))
        throw bad('--submit evaluates on a dataset version: give --data NAME@N');
      if (opts.cv) {
        const e = await client.post<Evaluation>(`${base}/evaluations/cv`, {});
        if (opts.json) printResult(e, opts);
        else printEvaluation(e);
        return;
      }
      const sources = ['data', 'file', 'artifact'].filter((k) => opts[k] !== undefined);
      if (sources.length !== 1)
        throw bad('give exactly one of --data NAME@N, --file FILE and --artifact PATH');
      const num = (name: string, v: unknown) => {
        if (v === undefined) return undefined;
        const n = Number(v);
        if (!Number.isFinite(n)) throw bad(`--${name} must be a number`);
        return n;
      };
      const body = {
        ...(opts.data ? { dataset: String(opts.data) } : {}),
        ...(opts.file ? { file: await uploadEvaluationFile(client, String(opts.file)) } : {}),
        ...(opts.artifact ? { file: String(opts.artifact) } : {}),
        ...(opts.target ? { target: String(opts.target) } : {}),
        ...(list(opts.sensitive) ? { sensitive: list(opts.sensitive) } : {}),
        ...(list(opts.slices) ? { slices: list(opts.slices) } : {}),
        ...(list(opts.features) ? { features: list(opts.features) } : {}),
        ...(opts.positiveClass ? { positiveClass: String(opts.positiveClass) } : {}),
        ...(opts.threshold !== undefined ? { threshold: num('threshold', opts.threshold) } : {}),
        ...(opts.minGroupSize !== undefined
          ? { minGroupSize: num('min-group-size', opts.minGroupSize) }
          : {}),
      };
      if (opts.submit) {
        const submitted = await client.post<{ id: string; jobId: string; runId: string; state: string }>(
          `${base}/evaluations`,
          { ...body, submit: true, ...(opts.queue ? { queue: String(opts.queue) } : {}) },
        );
        if (!opts.wait) {
          if (opts.json) printResult(submitted, opts);
          else process.stdout.write(`evaluation request ${submitted.id}, job ${submitted.jobId}\n`);
          return;
        }
        if (!opts.json)
          process.stderr.write(`evaluation request ${submitted.id}, job ${submitted.jobId}: waiting\n`);
        const done = await waitForRequest(client, submitted.id);
        const e = await client.get<Evaluation>(`${base}/evaluations/${done.evaluationId}`);
        if (opts.json) printResult(e, opts);
        else printEvaluation(e);
        return;
      }
      const e = await client.post<Evaluation>(`${base}/evaluations`, body);
      if (opts.json) printResult(e, opts);
      else printEvaluation(e);
    }),
  );

  remoteOptions(
    models
      .command('evaluation-request <id>')
      .description(
        'An evaluation submitted as a job (--submit): its state, job and, once done, its evaluation id',
      ),
  ).action(
    action(async (client, opts, id: string) => {
      const r = await client.get<RequestView>(`${projectUrl(client)}/evaluation-requests/${enc(id)}`);
      if (opts.json) return printResult(r, opts);
      printResult(
        [
          {
            id: r.id,
            model: `${r.model}@${r.version}`,
            data: r.request.dataset,
            state: r.state,
            job: r.jobId,
            evaluation: r.evaluationId ?? '',
            error: r.error ?? '',
          },
        ],
        opts,
        ['id', 'model', 'data', 'state', 'job', 'evaluation', 'error'],
      );
    }),
  );

  // The evaluator job's own command (the server builds it; not for people): reads its request
  // with the job's run-scoped token, evaluates, and posts the result to the request.
  remoteOptions(
    models
      .command('evaluate-worker', { hidden: true })
      .description('Run an evaluation request inside its job (the server submits this)')
      .requiredOption('--request <id>', 'the evaluation request'),
  ).action(
    action(async (client, opts) => {
      const e = await runEvaluationRequest(client, String(opts.request));
      if (opts.json) printResult(e, opts);
      else printEvaluation(e);
    }),
  );

  remoteOptions(
    models.command('evaluations <model>').description('List the evaluations of a version'),
  ).action(
    action(async (client, opts, ref: string) => {
      const { base } = await resolveRef(client, ref);
      const { evaluations } = await client.get<{ evaluations: Evaluation[] }>(`${base}/evaluations`);
      if (opts.json) return printResult(evaluations, opts);
      printResult(
        evaluations.map((e) => ({
          id: e.id,
          kind: e.kind,
          data: e.result.data,
          rows: e.rowCount,
          auc: fmt(e.result.metrics.auc ?? e.result.metrics.r2),
          created: e.createdAt,
          by: e.createdBy,
        })),
        opts,
        ['id', 'kind', 'data', 'rows', 'auc', 'created', 'by'],
      );
    }),
  );

  const gates = models.command('gates').description('Gate policies of a model and gate runs of its versions');
  remoteOptions(
    gates
      .command('set <name> <file>')
      .description("Set the model's gate policy from a YAML or JSON file ('-' reads stdin): a new revision"),
  ).action(
    action(async (client, opts, name: string, file: string) => {
      const text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
      const out = await client.put<{ revision: number }>(`${modelsUrl(client)}/${enc(name)}/gates/policy`, {
        policy: text,
      });
      if (opts.json) printResult(out, opts);
      else printMessage(`gate policy of ${name}: revision ${out.revision}`, opts);
    }),
  );
  remoteOptions(
    gates
      .command('show <name>')
      .description("Show the model's current gate policy (or --revision N)")
      .option('--revision <n>', 'an earlier revision'),
  ).action(
    action(async (client, opts, name: string) => {
      const q = opts.revision ? `?revision=${enc(String(opts.revision))}` : '';
      const out = await client.get<{ revision: number | null; source: string | null }>(
        `${modelsUrl(client)}/${enc(name)}/gates/policy${q}`,
      );
      if (opts.json) return printResult(out, opts);
      if (out.revision === null) return printMessage(`${name} has no gate policy`, opts);
      process.stdout.write(`# revision ${out.revision}\n${out.source ?? ''}`);
    }),
  );
  remoteOptions(
    gates.command('history <name>').description('Every revision of the policy, newest first'),
  ).action(
    action(async (client, opts, name: string) => {
      const { revisions } = await client.get<{
        revisions: { revision: number; createdAt: string; createdBy: string }[];
      }>(`${modelsUrl(client)}/${enc(name)}/gates/policy/revisions`);
      printResult(
        revisions.map((r) => ({ revision: r.revision, created: r.createdAt, by: r.createdBy })),
        opts,
        ['revision', 'created', 'by'],
      );
    }),
  );
  remoteOptions(
    gates
      .command('run <model>')
      .description('Run the gates on a version and store the result (exit 2 when a check fails)')
      .option('--alias <alias>', 'the alias whose holder is the champion (default the first protected)'),
  ).action(
    action(async (client, opts, ref: string) => {
      const { base } = await resolveRef(client, ref);
      const run = await client.post<{
        id: string;
        passed: boolean;
        policyRevision: number | null;
        checks: Check[];
      }>(`${base}/gates/runs`, opts.alias ? { alias: String(opts.alias) } : {});
      if (opts.json) printResult(run, opts);
      else printGates(run);
      if (!run.passed) process.exitCode = 2;
    }),
  );
  remoteOptions(gates.command('runs <model>').description('The gate runs of a version, newest first')).action(
    action(async (client, opts, ref: string) => {
      const { base } = await resolveRef(client, ref);
      const { runs } = await client.get<{
        runs: {
          id: string;
          passed: boolean;
          policyRevision: number | null;
          createdAt: string;
          createdBy: string;
          checks: Check[];
        }[];
      }>(`${base}/gates/runs`);
      if (opts.json) return printResult(runs, opts);
      printResult(
        runs.map((r) => ({
          id: r.id,
          passed: r.passed,
          revision: r.policyRevision,
          failed: r.checks
            .filter((c) => !c.passed)
            .map((c) => c.name)
            .join('; '),
          created: r.createdAt,
          by: r.createdBy,
        })),
        opts,
        ['id', 'passed', 'revision', 'failed', 'created', 'by'],
      );
    }),
  );

  remoteOptions(
    models
      .command('promote <model>')
      .description(
        'Request that a protected alias point at a version (NAME@VERSION): the gates run now; a maintainer who is not you approves',
      )
      .requiredOption('--alias <alias>', 'the protected alias (e.g. production)')
      .option('--note <text>', 'why'),
  ).action(
    action(async (client, opts, ref: string) => {
      const { base } = await resolveRef(client, ref);
      const out = await client.post<{
        request: Promotion;
        gates: { id: string; passed: boolean; policyRevision: number | null; checks: Check[] };
      }>(`${base}/promotions`, {
        alias: String(opts.alias),
        ...(opts.note ? { note: String(opts.note) } : {}),
      });
      if (opts.json) return printResult(out, opts);
      process.stdout.write(
        `promotion request ${out.request.id}: ${out.request.model}@${out.request.version} → ${out.request.alias}, pending\n`,
      );
      printGates(out.gates);
      process.stdout.write(
        out.gates.passed
          ? `next: another maintainer runs \`falaj models approve ${out.request.id}\`\n`
          : `the gates fail: a maintainer cannot approve it; a project admin may \`falaj models approve ${out.request.id} --override-reason TEXT\`\n`,
      );
    }),
  );

  remoteOptions(
    models
      .command('promotions [model]')
      .description('Promotion requests of the project (or of one model), newest first')
      .option('--state <state>', 'pending | approved | rejected | cancelled'),
  ).action(
    action(async (client, opts, name?: string) => {
      const q = opts.state ? `?state=${enc(String(opts.state))}` : '';
      const url = name
        ? `${modelsUrl(client)}/${enc(name)}/promotions${q}`
        : `${projectUrl(client)}/model-promotions${q}`;
      const { requests } = await client.get<{ requests: Promotion[] }>(url);
      if (opts.json) return printResult(requests, opts);
      printResult(requests.map(promotionRow), opts, [
        'id',
        'model',
        'alias',
        'state',
        'requested_by',
        'decided_by',
        'override',
      ]);
    }),
  );

  const decide = (
    verb: 'approve' | 'reject' | 'withdraw',
    description: string,
    configure: (c: Command) => Command,
  ) =>
    remoteOptions(configure(models.command(`${verb} <requestId>`).description(description))).action(
      action(async (client, opts, id: string) => {
        const url = `${projectUrl(client)}/model-promotions/${enc(id)}`;
        const out =
          verb === 'approve'
            ? await client.post<{ request: Promotion; gates: { passed: boolean } }>(
                `${url}/approve`,
                opts.overrideReason !== undefined ? { overrideReason: String(opts.overrideReason) } : {},
              )
            : verb === 'reject'
              ? { request: await client.post<Promotion>(`${url}/reject`, { reason: String(opts.reason) }) }
              : { request: await client.post<Promotion>(`${url}/cancel`, {}) };
        if (opts.json) return printResult(out, opts);
        const p = out.request;
        printMessage(
          `${p.model}@${p.version} → ${p.alias}: ${p.state}${p.overrideBy ? ' (failed gates overridden)' : ''} by ${p.decidedBy}`,
          opts,
        );
      }),
    );
  decide('approve', 'Approve a promotion request (not your own): the gates run again; the alias moves', (c) =>
    c.option(
      '--override-reason <text>',
      'project admins: approve despite failed gates, with this written reason',
    ),
  );
  decide('reject', 'Reject a promotion request, with a reason', (c) =>
    c.requiredOption('--reason <text>', 'why it is rejected'),
  );
  decide('withdraw', 'Withdraw a pending promotion request (yours, or as a maintainer)', (c) => c);

  remoteOptions(
    models
      .command('card <model>')
      .description(
        'The model card of a version: details, training data, parameters and CV, evaluations, fairness, gates, approvals',
      )
      .option('--format <format>', 'md | json', 'md')
      .option('--intended-use <text>', 'set the intended use first')
      .option('--limitations <text>', 'set the limitations first'),
  ).action(
    action(async (client, opts, ref: string) => {
      const { base } = await resolveRef(client, ref);
      if (opts.intendedUse !== undefined || opts.limitations !== undefined)
        await client.put(`${base}/card`, {
          ...(opts.intendedUse !== undefined ? { intendedUse: String(opts.intendedUse) } : {}),
          ...(opts.limitations !== undefined ? { limitations: String(opts.limitations) } : {}),
        });
      const format = opts.json ? 'json' : String(opts.format ?? 'md');
      if (format !== 'md' && format !== 'json') throw bad('--format is md or json');
      if (format === 'json')
        return printResult(await client.get<object>(`${base}/card?format=json`), { json: true });
      const res = await client.request<{ bytes: Uint8Array }>('GET', `${base}/card?format=md`, {
        as: 'bytes',
      });
      process.stdout.write(Buffer.from(res.bytes).toString('utf8'));
    }),
  );

  const webhooks = models.command('webhooks').description("The project's registry webhooks (project admins)");
  remoteOptions(
    webhooks
      .command('add <url>')
      .description(
        'Add a receiver: events are POSTed as JSON signed with HMAC-SHA256 (X-Falaj-Signature-256)',
      )
      .option(
        '--events <list>',
        'comma-separated: model_version.created, promotion.requested, promotion.approved, promotion.rejected, alias.changed (default all)',
      )
      .option('--secret <secret>', 'the HMAC key (default: one is made and shown once)'),
  ).action(
    action(async (client, opts, url: string) => {
      const out = await client.post<{ id: string; secret?: string }>(`${projectUrl(client)}/model-webhooks`, {
        url,
        ...(list(opts.events) ? { events: list(opts.events) } : {}),
        ...(opts.secret ? { secret: String(opts.secret) } : {}),
      });
      if (opts.json) return printResult(out, opts);
      printMessage(`webhook ${out.id}${out.secret ? `; its secret (shown once): ${out.secret}` : ''}`, opts);
    }),
  );
  remoteOptions(webhooks.command('list').description("The project's webhooks")).action(
    action(async (client, opts) => {
      const { webhooks: hooks } = await client.get<{
        webhooks: { id: string; url: string; events: string[]; active: boolean }[];
      }>(`${projectUrl(client)}/model-webhooks`);
      if (opts.json) return printResult(hooks, opts);
      printResult(
        hooks.map((h) => ({ ...h, events: h.events.join(',') })),
        opts,
        ['id', 'url', 'events', 'active'],
      );
    }),
  );
  for (const [verb, active] of [
    ['pause', false],
    ['resume', true],
  ] as const)
    remoteOptions(
      webhooks
        .command(`${verb} <id>`)
        .description(`${verb === 'pause' ? 'Stop' : 'Restart'} deliveries to a webhook`),
    ).action(
      action(async (client, opts, id: string) => {
        await client.patch(`${projectUrl(client)}/model-webhooks/${enc(id)}`, { active });
        printMessage(`webhook ${id} ${active ? 'resumed' : 'paused'}`, opts);
      }),
    );
  remoteOptions(webhooks.command('rm <id>').description('Remove a webhook and its delivery log')).action(
    action(async (client, opts, id: string) => {
      await client.delete(`${projectUrl(client)}/model-webhooks/${enc(id)}`);
      printMessage(`webhook ${id} removed`, opts);
    }),
  );
  remoteOptions(
    webhooks
      .command('deliveries <id>')
      .description('The delivery log of a webhook, newest first')
      .option('--state <state>', 'pending | delivered | failed'),
  ).action(
    action(async (client, opts, id: string) => {
      const q = opts.state ? `?state=${enc(String(opts.state))}` : '';
      const { deliveries } = await client.get<{
        deliveries: {
          id: string;
          event: string;
          state: string;
          attempts: number;
          lastStatus: number | null;
          lastError: string | null;
          createdAt: string;
        }[];
      }>(`${projectUrl(client)}/model-webhooks/${enc(id)}/deliveries${q}`);
      if (opts.json) return printResult(deliveries, opts);
      printResult(
        deliveries.map((d) => ({
          id: d.id,
          event: d.event,
          state: d.state,
          attempts: d.attempts,
          status: d.lastStatus,
          error: d.lastError,
          created: d.createdAt,
        })),
        opts,
        ['id', 'event', 'state', 'attempts', 'status', 'error', 'created'],
      );
    }),
  );
  remoteOptions(
    webhooks.command('redeliver <id> <deliveryId>').description('Queue a given-up delivery again'),
  ).action(
    action(async (client, opts, id: string, delivery: string) => {
      await client.post(
        `${projectUrl(client)}/model-webhooks/${enc(id)}/deliveries/${enc(delivery)}/redeliver`,
        {},
      );
      printMessage(`delivery ${delivery} queued again`, opts);
    }),
  );
}
