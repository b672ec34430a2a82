// The package's version, read from package.json: two folders up from here both in src/core/
// (tsx, vitest) and in dist/core/ (the built package).
import { readFileSync } from 'node:fs';

export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
