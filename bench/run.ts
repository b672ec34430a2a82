// `npm run bench`: every benchmark, each printing its figures as ratios against an anchor
// measured in the same run (these machines are shared and noisy). The platform core's run in
// this process; the domain benchmarks (training, tuning, data, statistics, scheduling) run as
// their own scripts after them. FALAJ_BENCH_ONLY=core,gbdt,... picks some of them.
// FALAJ_BENCH_ARTIFACT_MB (default 2048), FALAJ_BENCH_SECONDS (default 5), FALAJ_BENCH_POINTS
// (default 2,000,000), FALAJ_BENCH_HISTORY_POINTS (default 1,000,000) and FALAJ_BENCH_DIALECTS
// (default "sqlite,postgres") shrink a quick run.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { benchArtifacts } from './artifacts.js';
import { benchHttp } from './http.js';
import { ROOT } from './support.js';
import { type BenchDialect, benchTracking } from './tracking.js';

const seconds = Number(process.env.FALAJ_BENCH_SECONDS ?? 5);
const artifactMb = Number(process.env.FALAJ_BENCH_ARTIFACT_MB ?? 2048);
const points = Number(process.env.FALAJ_BENCH_POINTS ?? 2_000_000);
const historyPoints = Number(process.env.FALAJ_BENCH_HISTORY_POINTS ?? 1_000_000);
const dialects = (process.env.FALAJ_BENCH_DIALECTS ?? 'sqlite,postgres')
  .split(',')
  .map((d) => d.trim())
  .filter((d): d is BenchDialect => d === 'sqlite' || d === 'postgres');

const only = process.env.FALAJ_BENCH_ONLY?.split(',').map((s) => s.trim());
const wanted = (name: string) => !only || only.includes(name);

if (wanted('core')) {
  const results = {
    date: new Date().toISOString(),
    node: process.version,
    http: await benchHttp({ seconds }),
    artifacts: await benchArtifacts({ sizeBytes: artifactMb * 1024 * 1024 }),
    tracking: await benchTracking({ points, dialects, historyPoints }),
  };
  const out = path.join(ROOT, 'bench/out');
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nfigures written to bench/out/results.json`);
}

// Each prints its own figures; run one by one so they do not share the two cores.
const SCRIPTS: [string, string[]][] = [
  ['gbdt', ['bench/gbdt.ts']],
  ['accuracy', ['bench/accuracy.ts']],
  ['tuning', ['bench/tuning-gbdt.ts']],
  ['statistics', ['bench/statistics.ts']],
  ['data', ['bench/data.ts']],
  ['scheduler', ['bench/scheduler.ts']],
  ['jobs', ['bench/job-latency.ts']],
  ['serving', ['bench/serving.ts']],
];
for (const [name, args] of SCRIPTS) {
  if (!wanted(name)) continue;
  console.log(`\n== ${args.join(' ')}`);
  const res = spawnSync(process.execPath, ['--import', 'tsx', ...args], { cwd: ROOT, stdio: 'inherit' });
  if (res.status !== 0) process.exitCode = 1;
}
