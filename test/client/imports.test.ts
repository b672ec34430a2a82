// Layering: the CLI, the SDK and the job agent share one HTTP client (src/client/); the SDK and
// the jobs code never reach into the CLI, and the client depends on none of its users.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Every module a file imports or re-exports (static and dynamic), resolved to a path under src/. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [
    ...text.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]/gm),
    ...text.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm),
    ...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((m) => m[1] as string);
  return specs.filter((s) => s.startsWith('.')).map((s) => path.resolve(path.dirname(file), s));
}

function offenders(fromDirs: string[], forbidden: string[]): string[] {
  const out: string[] = [];
  for (const dir of fromDirs) {
    for (const file of sourceFiles(path.join(SRC, dir))) {
      for (const target of importsOf(file)) {
        const rel = path.relative(SRC, target);
        if (forbidden.some((f) => rel === f || rel.startsWith(`${f}/`)))
          out.push(`${path.relative(SRC, file)} -> ${rel}`);
      }
    }
  }
  return out;
}

describe('import layering', () => {
  it('finds the imports it checks (the scanner works)', () => {
    expect(importsOf(path.join(SRC, 'cli/remote.ts')).map((p) => path.relative(SRC, p))).toContain(
      'client/index.js',
    );
  });

  it('src/sdk and src/jobs import nothing from src/cli', () => {
    expect(offenders(['sdk', 'jobs'], ['cli'])).toEqual([]);
  });

  it('src/client imports nothing from the CLI, the SDK, the jobs or the server', () => {
    expect(offenders(['client'], ['cli', 'sdk', 'jobs', 'server'])).toEqual([]);
  });
});
