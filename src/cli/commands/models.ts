// `falaj models register|list|show|versions|alias`: the model registry of a project (--project
// or FALAJ_PROJECT). Evaluation, gates and promotion join the same command group
// (models-staging.ts).
import { createReadStream, existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { Command } from 'commander';
import { FalajApiError, type FalajClient } from '../../client/index.js';
// The answers' shapes, as the server writes them (type-only: nothing of the registry loads).
import type { ModelView, VersionView } from '../../registry/v1-views.js';
import { printMessage, printResult } from '../output.js';
import { action, remoteOptions } from '../remote.js';

/** The project's models URL; the project must be named. */
export function modelsUrl(client: FalajClient): string {
  if (!client.project)
    throw new FalajApiError(0, 'FALAJ_INVALID_ARGUMENT', 'name the project: --project NAME or FALAJ_PROJECT');
  return `/api/v1/projects/${encodeURIComponent(client.project)}/models`;
}

function modelUrl(client: FalajClient, name: string): string {
  return `${modelsUrl(client)}/${encodeURIComponent(name)}`;
}

function tagsOf(values: string[] | undefined): Record<string, string> | undefined {
  if (!values || values.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new FalajApiError(0, 'FALAJ_INVALID_ARGUMENT', `--tag takes key=value, got '${v}'`);
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

const when = (ms: number) => new Date(ms).toISOString();

function printVersion(v: VersionView): void {
  process.stdout.write(
    `${v.name}@${v.version} (${v.uri}): ${v.status}, ${v.format}${v.aliases.length ? `, aliases ${v.aliases.join(', ')}` : ''}\n`,
  );
  process.stdout.write(`source: ${v.source}${v.run_id ? ` (run ${v.run_id})` : ''}\n`);
  process.stdout.write(`files: ${v.artifact_path || '(external)'}\n`);
  if (v.signature) {
    const io = (l: { name: string; type: string }[]) => l.map((s) => `${s.name}:${s.type}`).join(', ');
    process.stdout.write(`inputs: ${io(v.signature.inputs)}\noutputs: ${io(v.signature.outputs)}\n`);
  }
  if (v.description) process.stdout.write(`description: ${v.description}\n`);
  process.stdout.write(`registered ${when(v.created_at)} by ${v.user_id}\n`);
}

function versionRows(versions: VersionView[]) {
  return versions.map((v) => ({
    version: v.version,
    aliases: v.aliases.join(',') || '-',
    format: v.format,
    run: v.run_id ?? '-',
    inputs: v.signature?.inputs.length ?? '-',
    created: when(v.created_at),
    by: v.user_id,
  }));
}

/** Adds `falaj models ...` and returns the command group (other registry commands join it). */
export function registerModelCommands(program: Command): Command {
  const models = program
    .command('models')
    .description('Registered models of a project (--project or FALAJ_PROJECT): versions, aliases, URIs');

  remoteOptions(
    models
      .command('register <name>')
      .description(
        "Register a version: a run's model folder (--run RUN_ID [--path model]) or an ONNX file from any framework (--file model.onnx); creates the model if needed",
      )
      .option('--run <runId>', 'the run whose artifacts hold the model')
      .option('--path <path>', "the model's folder under the run's artifacts", 'model')
      .option('--file <file>', 'an ONNX file (its inputs and outputs are read from the graph)')
      .option('--description <text>', 'what this version is')
      .option('--tag <key=value...>', 'tags of the version (with --run)'),
  ).action(
    action(async (client, opts, name: string) => {
      const run = opts.run as string | undefined;
      const file = opts.file as string | undefined;
      if (Boolean(run) === Boolean(file))
        throw new FalajApiError(0, 'FALAJ_INVALID_ARGUMENT', 'give one of --run RUN_ID or --file model.onnx');
      const url = `${modelUrl(client, name)}/versions`;
      let v: VersionView;
      if (file) {
        if (!existsSync(file)) throw new FalajApiError(0, 'FALAJ_INVALID_ARGUMENT', `no such file: ${file}`);
        v = await client.request<VersionView>('POST', url, {
          query: opts.description ? { description: String(opts.description) } : {},
          body: {
            body: Readable.toWeb(createReadStream(file)),
            headers: { 'content-type': 'application/octet-stream' },
          },
        });
      } else {
        const tags = tagsOf(opts.tag as string[] | undefined);
        v = await client.post<VersionView>(url, {
          run_id: run,
          path: String(opts.path ?? 'model'),
          ...(opts.description ? { description: String(opts.description) } : {}),
          ...(tags ? { tags } : {}),
        });
      }
      printMessage(`registered ${v.name}@${v.version} (${v.uri})`, opts, v as unknown as object);
    }),
  );

  remoteOptions(models.command('list').description('List registered models')).action(
    action(async (client, opts) => {
      const { models: list } = await client.get<{ models: ModelView[] }>(modelsUrl(client));
      if (opts.json) return printResult(list, opts);
      printResult(
        list.map((m) => ({
          name: m.name,
          latest: m.latest_version ?? '-',
          aliases:
            Object.entries(m.aliases)
              .map(([a, n]) => `${a}=${n}`)
              .join(',') || '-',
          updated: when(m.updated_at),
          description: m.description,
        })),
        opts,
        ['name', 'latest', 'aliases', 'updated', 'description'],
      );
    }),
  );

  remoteOptions(
    models
      .command('show <model>')
      .description(
        'Show a model with its versions (NAME), or one version (NAME@VERSION, NAME@ALIAS, models:/...)',
      ),
  ).action(
    action(async (client, opts, ref: string) => {
      if (ref.includes('@') || ref.startsWith('models:')) {
        const { version } = await client.get<{ version: VersionView }>(
          `${modelsUrl(client)}/resolve?uri=${encodeURIComponent(ref)}`,
        );
        if (opts.json) return printResult(version, opts);
        return printVersion(version);
      }
      const m = await client.get<ModelView & { versions: VersionView[] }>(modelUrl(client, ref));
      if (opts.json) return printResult(m, opts);
      process.stdout.write(`${m.name}: ${m.description || '(no description)'}\n`);
      process.stdout.write(`protected aliases: ${m.protected_aliases.join(', ') || 'none'}\n`);
      printResult(versionRows(m.versions), opts, [
        'version',
        'aliases',
        'format',
        'run',
        'inputs',
        'created',
        'by',
      ]);
    }),
  );

  remoteOptions(
    models.command('versions <name>').description('List the versions of a model, newest first'),
  ).action(
    action(async (client, opts, name: string) => {
      const { versions } = await client.get<{ versions: VersionView[] }>(
        `${modelUrl(client, name)}/versions`,
      );
      if (opts.json) return printResult(versions, opts);
      printResult(versionRows(versions), opts, [
        'version',
        'aliases',
        'format',
        'run',
        'inputs',
        'created',
        'by',
      ]);
    }),
  );

  remoteOptions(
    models
      .command('alias <name> <alias> [version]')
      .description(
        'Point an alias at a version, or remove it with --delete; protected aliases (production) move only through `falaj models promote`',
      )
      .option('--delete', 'remove the alias'),
  ).action(
    action(async (client, opts, name: string, alias: string, version: string | undefined) => {
      const url = `${modelUrl(client, name)}/aliases/${encodeURIComponent(alias)}`;
      if (opts.delete) {
        const res = await client.delete<{ removed: number }>(url);
        return printMessage(`removed alias ${alias} of ${name} (was version ${res.removed})`, opts, res);
      }
      if (!version || !/^\d+$/.test(version))
        throw new FalajApiError(
          0,
          'FALAJ_INVALID_ARGUMENT',
          'give the version number: falaj models alias NAME ALIAS VERSION',
        );
      const res = await client.put<{ previous: number | null }>(url, { version: Number(version) });
      printMessage(
        `${name}@${alias} -> version ${version}${res.previous !== null ? ` (was ${res.previous})` : ''}`,
        opts,
        res,
      );
    }),
  );

  return models;
}
