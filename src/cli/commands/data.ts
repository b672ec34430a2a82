// `falaj datasets ...` (server) and `falaj profile|validate|suggest-suite|drift|fairness`
// (a local file computed here with DuckDB, or a version `dataset@N` from the server).
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { FalajApiError } from '../../client/index.js';
import { computeProfile } from '../../data/profile.js';
import { suggestSuite } from '../../data/suggest.js';
import { parseSuite } from '../../data/suite.js';
import type { Profile, Suite, ValidationResult } from '../../data/types.js';
import { runSuite } from '../../data/validate.js';
import { computeDriftDuckDB, computeFairnessDuckDB, type DriftMethod } from '../../statistics/index.js';
import { printMessage, printResult } from '../output.js';
import { action, remoteOptions } from '../remote.js';
import { printDrift, printFairness, printProfile, printValidation } from './data-print.js';
import {
  datasetsUrl,
  parseVersionRef,
  prepare,
  uploadVersion,
  versionUrl,
  withWorkspace,
} from './data-source.js';

type VersionView = {
  dataset: string;
  version: number;
  rowCount: number;
  digest: string;
  status: string;
  createdAt: string;
  createdBy: string;
  schema: { name: string; type: string; tags: string[] }[];
  schemaDiff: unknown;
  source: { fileName: string; warnings: string[] };
  validation?: ValidationResult | null;
};

function readSuite(file: string): Suite {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new FalajApiError(
      0,
      'FALAJ_INVALID_ARGUMENT',
      `cannot read suite '${file}': ${(err as Error).message}`,
    );
  }
  return parseSuite(doc);
}

function registerDatasetCommands(program: Command): void {
  const datasets = program
    .command('datasets')
    .description('Datasets of a project (--project or FALAJ_PROJECT)');

  remoteOptions(
    datasets
      .command('create <name>')
      .description('Create a dataset')
      .option('--description <text>', 'what it holds')
      .option('--suite <file>', 'a validation suite (JSON) new versions must pass'),
  ).action(
    action(async (client, opts, name: string) => {
      const body = {
        name,
        ...(opts.description ? { description: String(opts.description) } : {}),
        ...(opts.suite ? { suite: readSuite(String(opts.suite)) } : {}),
      };
      const created = await client.post(datasetsUrl(client), body);
      printMessage(`created dataset ${name}`, opts, created as object);
    }),
  );

  remoteOptions(datasets.command('list').description('List datasets')).action(
    action(async (client, opts) => {
      const res = await client.get<{
        datasets: { name: string; latestVersion: number | null; hasSuite: boolean; description: string }[];
      }>(datasetsUrl(client));
      printResult(res.datasets, opts, ['name', 'latestVersion', 'hasSuite', 'description']);
    }),
  );

  remoteOptions(datasets.command('show <dataset>').description('Show a dataset and its versions')).action(
    action(async (client, opts, name: string) => {
      const base = `${datasetsUrl(client)}/${encodeURIComponent(name)}`;
      const dataset = await client.get<Record<string, unknown>>(base);
      const { versions } = await client.get<{ versions: VersionView[] }>(`${base}/versions`);
      if (opts.json) return printResult({ ...dataset, versions }, opts);
      process.stdout.write(
        `${name}: ${String(dataset.description || '(no description)')}; suite: ${dataset.hasSuite ? 'yes' : 'none'}\n`,
      );
      printResult(
        versions.map((v) => ({
          version: v.version,
          rows: v.rowCount,
          columns: v.schema.length,
          status: v.status,
          file: v.source.fileName,
          created: v.createdAt,
          by: v.createdBy,
        })),
        opts,
        ['version', 'rows', 'columns', 'status', 'file', 'created', 'by'],
      );
    }),
  );

  remoteOptions(
    datasets
      .command('add-version <dataset> <file>')
      .description('Upload a CSV, TSV, Parquet or JSON-lines file as a new version'),
  ).action(
    action(async (client, opts, dataset: string, file: string) => {
      const v = (await uploadVersion(client, dataset, file)) as VersionView;
      if (opts.json) return printResult(v, opts);
      process.stdout.write(
        `${v.dataset}@${v.version}: ${v.rowCount} rows, ${v.schema.length} columns, ${v.status} (sha256 ${v.digest})\n`,
      );
      for (const w of v.source.warnings) process.stdout.write(`warning: ${w}\n`);
      if (v.schemaDiff) process.stdout.write(`schema change: ${JSON.stringify(v.schemaDiff)}\n`);
      if (v.validation) printValidation(v.validation);
    }),
  );
}

function registerAnalysisCommands(program: Command): void {
  remoteOptions(
    program
      .command('profile <source>')
      .description('Profile a local CSV/Parquet/JSON-lines file, or a version dataset@N'),
  ).action(
    action(async (client, opts, source: string) => {
      const ref = parseVersionRef(source);
      const profile = ref
        ? await client.get<Profile>(`${versionUrl(client, ref)}/profile`)
        : await withWorkspace(async (ws) => {
            const p = await prepare(ws, client, source, 'source');
            for (const w of p.warnings) process.stderr.write(`warning: ${w}\n`);
            return computeProfile(ws, 'read_parquet($1)', [p.parquet], p.schema);
          });
      if (opts.json) printResult(profile, opts);
      else printProfile(profile);
    }),
  );

  remoteOptions(
    program
      .command('validate <source>')
      .description('Validate a local file or a version dataset@N against a suite; exit code 1 when it fails')
      .requiredOption('--suite <file>', 'the suite (JSON)'),
  ).action(
    action(async (client, opts, source: string) => {
      const suite = readSuite(String(opts.suite));
      const ref = parseVersionRef(source);
      const result = ref
        ? await client.post<ValidationResult>(`${versionUrl(client, ref)}/validate`, { suite })
        : await withWorkspace(async (ws) => {
            const p = await prepare(ws, client, source, 'source');
            return runSuite(ws, p.parquet, p.schema, suite, {
              reference: (r) => prepare(ws, client, r, `ref-${Date.now()}`).then((x) => x.parquet),
            });
          });
      if (opts.json) printResult(result, opts);
      else printValidation(result);
      if (!result.success) process.exitCode = 1;
    }),
  );

  remoteOptions(
    program
      .command('suggest-suite <source>')
      .description('Propose a validation suite (JSON) from the profile of a file or version'),
  ).action(
    action(async (client, _opts, source: string) => {
      const ref = parseVersionRef(source);
      const suite = ref
        ? await client.get<Suite>(`${versionUrl(client, ref)}/suggested-suite`)
        : await withWorkspace(async (ws) => {
            const p = await prepare(ws, client, source, 'source');
            return suggestSuite(await computeProfile(ws, 'read_parquet($1)', [p.parquet], p.schema));
          });
      // Always JSON: the output is meant to be saved, edited and passed to --suite.
      process.stdout.write(`${JSON.stringify(suite, null, 2)}\n`);
    }),
  );

  remoteOptions(
    program
      .command('drift <reference> <current>')
      .description(
        'Drift per column and for the dataset between two files or versions (Evidently’s rules by default)',
      )
      .option('--columns <list>', 'comma-separated columns (default: all of the reference)')
      .option(
        '--method <method>',
        'ks, chisquare, z, wasserstein, jensenshannon, psi or linf for every column',
      )
      .option('--threshold <n>', 'p-value or distance threshold for every column')
      .option('--drift-share <n>', 'share of drifted columns that means dataset drift (default 0.5)'),
  ).action(
    action(async (client, opts, reference: string, current: string) => {
      const report = await withWorkspace(async (ws) => {
        const ref = await prepare(ws, client, reference, 'reference');
        const cur = await prepare(ws, client, current, 'current');
        return computeDriftDuckDB(
          ws.conn,
          { parquet: ref.parquet },
          { parquet: cur.parquet },
          {
            ...(opts.columns ? { columns: String(opts.columns).split(',') } : {}),
            ...(opts.method ? { method: String(opts.method) as DriftMethod } : {}),
            ...(opts.threshold ? { threshold: Number(opts.threshold) } : {}),
            ...(opts.driftShare ? { driftShare: Number(opts.driftShare) } : {}),
          },
        );
      });
      if (opts.json) printResult(report, opts);
      else printDrift(report);
    }),
  );

  remoteOptions(
    program
      .command('fairness <source>')
      .description('Fairness metrics of predictions by sensitive groups (Fairlearn and AIF360 definitions)')
      .requiredOption('--prediction <column>', 'the predicted outcome column')
      .requiredOption('--label <column>', 'the true outcome column')
      .requiredOption('--sensitive <columns>', 'comma-separated sensitive columns')
      .option('--positive <value>', 'the favourable outcome (default 1)')
      .option('--negative <value>', 'the other outcome (default 0)')
      .option('--min-group-size <n>', 'groups with fewer rows are flagged small (default 30)'),
  ).action(
    action(async (client, opts, source: string) => {
      const value = (v: unknown) =>
        typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : (v as string);
      const report = await withWorkspace(async (ws) => {
        const p = await prepare(ws, client, source, 'source');
        return computeFairnessDuckDB(
          ws.conn,
          { parquet: p.parquet },
          {
            prediction: String(opts.prediction),
            label: String(opts.label),
            sensitive: String(opts.sensitive).split(','),
          },
          {
            ...(opts.positive !== undefined ? { positiveLabel: value(opts.positive) } : {}),
            ...(opts.negative !== undefined ? { negativeLabel: value(opts.negative) } : {}),
            ...(opts.minGroupSize ? { minGroupSize: Number(opts.minGroupSize) } : {}),
          },
        );
      });
      if (opts.json) printResult(report, opts);
      else printFairness(report);
    }),
  );
}

export function registerDataCommands(program: Command): void {
  registerDatasetCommands(program);
  registerAnalysisCommands(program);
}
