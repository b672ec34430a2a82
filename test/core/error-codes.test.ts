import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/core/error-codes.js';
import { renderErrorDocs } from '../../src/core/error-docs.js';

const root = path.resolve(import.meta.dirname, '../..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return /\.(ts|py)$/.test(name) ? [full] : [];
  });
}

describe('error codes', () => {
  it('docs/errors.md is the rendering of the code table (run `npm run docs:errors`)', () => {
    expect(readFileSync(path.join(root, 'docs/errors.md'), 'utf8')).toBe(renderErrorDocs());
  });

  // A quoted 'FALAJ_...' string in src/ is an error code (environment variables are read as
  // env.FALAJ_..., never quoted), so each must be in the table.
  it('every FALAJ_ code used in the source is in the table, hence documented', () => {
    const used = new Set<string>();
    for (const file of sourceFiles(path.join(root, 'src'))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/'(FALAJ_[A-Z0-9_]+)'/g)) used.add(m[1]!);
    }
    const undocumented = [...used].filter((c) => !(c in ERROR_CODES));
    expect(undocumented).toEqual([]);
    expect(used.size).toBeGreaterThan(10);
  });

  it('statuses are HTTP error statuses and codes are well formed', () => {
    for (const [code, { status, description }] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^FALAJ_[A-Z0-9_]+$/);
      expect(status >= 400 && status < 600).toBe(true);
      expect(description.length).toBeGreaterThan(10);
    }
  });
});
