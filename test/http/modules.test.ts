// The one shape of domain modules (src/http/module.ts): every domain folder's module.ts is in
// the one list, registered once, and no background object hides in a registry keyed by the
// services (a module owns its background work).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MODULES } from '../../src/server/modules.js';

const SRC = path.resolve(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(path.join(dir, e.name))
      : e.name.endsWith('.ts')
        ? [path.join(dir, e.name)]
        : [],
  );
}

describe('domain modules', () => {
  it('lists every domain folder that has a module.ts, once, under a unique name', async () => {
    // src/http/module.ts defines the shape; it is no domain.
    const folders = readdirSync(SRC).filter(
      (d) => d !== 'http' && existsSync(path.join(SRC, d, 'module.ts')),
    );
    const exported = await Promise.all(
      folders.map(async (d) => Object.values(await import(path.join(SRC, d, 'module.ts'))) as unknown[]),
    );
    for (const [i, folder] of folders.entries()) {
      const modules = exported[i]?.filter((v) => MODULES.includes(v as never)) ?? [];
      expect(modules, `src/${folder}/module.ts exports no module of server/modules.ts`).toHaveLength(1);
    }
    const names = MODULES.map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    expect(MODULES.length).toBe(folders.length);
  });

  it('keeps no background object in a registry keyed by the services', () => {
    const offenders = sourceFiles(SRC).filter((f) => /WeakMap<Services\b/.test(readFileSync(f, 'utf8')));
    expect(offenders.map((f) => path.relative(SRC, f))).toEqual([]);
  });
});
