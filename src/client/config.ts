// Where a client connects and as whom: explicit settings (the CLI's --url/--token/--project, the
// SDK's options), then FALAJ_URL/FALAJ_TOKEN/FALAJ_PROJECT, then the file `falaj login` wrote.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_HOST, DEFAULT_PORT } from '../core/config.js';

/** What `falaj login` remembers: the server URL and a session token (file mode 0600). */
export interface CliConfigFile {
  url?: string;
  token?: string;
  username?: string;
}

export function cliConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FALAJ_CONFIG) return env.FALAJ_CONFIG;
  const base = env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'falaj', 'config.json');
}

export function readCliConfig(env: NodeJS.ProcessEnv = process.env): CliConfigFile {
  const file = cliConfigPath(env);
  if (!existsSync(file)) return {};
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as CliConfigFile;
  } catch {
    return {};
  }
}

export function writeCliConfig(value: CliConfigFile, env: NodeJS.ProcessEnv = process.env): string {
  const file = cliConfigPath(env);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
  return file;
}

/** Settings given explicitly (flags, constructor options); empty strings count as unset. */
export interface ConnectionSettings {
  url?: string | undefined;
  token?: string | undefined;
  /** Project for APIs whose URLs carry none (MLflow's): sent as X-Falaj-Project. */
  project?: string | undefined;
}

/** A server, an identity and a project, resolved. */
export interface Connection {
  /** Without a trailing slash. */
  url: string;
  token: string | undefined;
  project: string | undefined;
}

/**
 * Resolves each setting from `settings`, then the environment (FALAJ_URL, FALAJ_TOKEN,
 * FALAJ_PROJECT), then the login file (url and token only), then http://127.0.0.1:7460.
 *
 * `loginFile` says when the file counts:
 * - `always` (the CLI): its URL when none was given, its token when none was given;
 * - `without-url` (the SDK): only when no URL was given (option or FALAJ_URL), so the file's
 *   token is never sent to a server named some other way (the file is not even read then).
 */
export function resolveConnection(
  settings: ConnectionSettings,
  env: NodeJS.ProcessEnv = process.env,
  loginFile: 'always' | 'without-url' = 'always',
): Connection {
  const givenUrl = settings.url || env.FALAJ_URL;
  const file = loginFile === 'without-url' && givenUrl ? {} : readCliConfig(env);
  return {
    url: (givenUrl || file.url || `http://${DEFAULT_HOST}:${DEFAULT_PORT}`).replace(/\/+$/, ''),
    token: settings.token || env.FALAJ_TOKEN || file.token || undefined,
    project: settings.project || env.FALAJ_PROJECT || undefined,
  };
}
