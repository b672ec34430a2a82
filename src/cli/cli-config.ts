import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

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
