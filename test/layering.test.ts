import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

// `npm run lint` checks src/ against the written layering (.dependency-cruiser.cjs, README
// "Layout"). This proves the rules bite: a tree with one planted import per rule must fail
// each of them, and the imports the layering allows must pass.
const ROOT = path.resolve(import.meta.dirname, '..');
const DEPCRUISE = path.join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

const FILES: Record<string, string> = {
  'src/core/errors.ts': 'export const E = 1;\n',
  'src/core/config.ts': "import { J } from '../jobs/executor.js';\nexport const C = J;\n",
  'src/store/store.ts': "import { E } from '../core/errors.js';\nexport const S = E;\n",
  'src/store/migrations/0099-x.ts':
    "import { S } from '../store.js';\nimport { R } from '../../tracking/run-store.js';\nexport const M = S + R;\n",
  'src/training/fit.ts': "import { S } from '../store/store.js';\nexport const F = S;\n",
  'src/http/services.ts':
    "import type { ArtifactStore } from '../artifacts/artifact-store.js';\nimport { D } from '../data/ingest.js';\nexport type A = ArtifactStore;\nexport const H = D;\n",
  'src/http/audited.ts': "import type { P } from '../projects/projects.js';\nexport type Q = P;\n",
  'src/artifacts/artifact-store.ts': 'export interface ArtifactStore { x: number }\n',
  'src/projects/projects.ts': 'export type P = number;\n',
  'src/tracking/run-store.ts': 'export const R = 1;\n',
  'src/tracking/run-routes.ts': 'export const RR = 1;\n',
  'src/data/ingest.ts':
    "import { R } from '../tracking/run-store.js';\nimport { RR } from '../tracking/run-routes.js';\nimport { H } from '../http/services.js';\nexport const D = R + RR + H;\n",
  'src/jobs/executor.ts': "import { build } from '../server/app.js';\nexport const J = build;\n",
  'src/server/app.ts': "import { D } from '../data/ingest.js';\nexport const build = D;\n",
  'src/sdk/falaj.ts': "import { main } from '../cli/main.js';\nexport const Falaj = main;\n",
  'src/cli/main.ts': "import { build } from '../server/app.js';\nexport const main = build;\n",
  'tsconfig.json': '{ "compilerOptions": { "module": "NodeNext", "moduleResolution": "NodeNext" } }\n',
};

let dir: string | undefined;
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
}

describe('the layering rules', () => {
  it('report each planted violation and nothing the layering allows', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'falaj-layers-'));
    for (const [file, text] of Object.entries(FILES)) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), text);
    }
    copyFileSync(path.join(ROOT, '.dependency-cruiser.cjs'), path.join(dir, '.dependency-cruiser.cjs'));
    const run = await promisify(execFile)(
      process.execPath,
      [DEPCRUISE, 'src', '--config', '.dependency-cruiser.cjs', '--output-type', 'json'],
      { cwd: dir, maxBuffer: 16 << 20 },
    ).catch((err: { stdout: string }) => err);
    const violations = (JSON.parse(run.stdout) as { summary: { violations: Violation[] } }).summary
      .violations;
    const found = violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();
    expect(found).toEqual(
      [
        'core-is-the-bottom: src/core/config.ts → src/jobs/executor.ts',
        'store-above-core: src/store/migrations/0099-x.ts → src/tracking/run-store.ts',
        'migrations-import-no-live-code: src/store/migrations/0099-x.ts → src/store/store.ts',
        'migrations-import-no-live-code: src/store/migrations/0099-x.ts → src/tracking/run-store.ts',
        'libraries-are-pure: src/training/fit.ts → src/store/store.ts',
        'http-imports-no-domain: src/http/services.ts → src/data/ingest.ts',
        'http-type-imports-only-backends: src/http/services.ts → src/data/ingest.ts',
        'http-type-imports-only-backends: src/http/audited.ts → src/projects/projects.ts',
        'no-other-domains-routes: src/data/ingest.ts → src/tracking/run-routes.ts',
        'domains-below-the-top: src/jobs/executor.ts → src/server/app.ts',
        'server-assembles-only: src/jobs/executor.ts → src/server/app.ts',
        'sdk-on-the-client: src/sdk/falaj.ts → src/cli/main.ts',
        'cli-is-the-top: src/sdk/falaj.ts → src/cli/main.ts',
      ].sort(),
    );
  }, 60_000);
});
