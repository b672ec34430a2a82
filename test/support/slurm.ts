// Whether a Slurm cluster answers here (scripts/ensure-slurm.sh starts a one-node one). Tests
// that need it skip with this reason, except under FALAJ_TEST_REQUIRE_SLURM=1 (CI), where a
// missing cluster fails.
import { execFileSync } from 'node:child_process';

function slurmAnswers(): string | undefined {
  try {
    const out = execFileSync('sinfo', ['-h', '-o', '%T'], { encoding: 'utf8', timeout: 10_000 });
    return /idle|mixed|allocated|completing/.test(out)
      ? undefined
      : `sinfo shows no usable node (${out.trim()})`;
  } catch (err) {
    return `sinfo does not answer (${(err as Error).message.split('\n')[0]}); run scripts/ensure-slurm.sh`;
  }
}

/** Why Slurm tests cannot run here, or undefined when they can. */
export const SLURM_MISSING = slurmAnswers();
if (SLURM_MISSING && process.env.FALAJ_TEST_REQUIRE_SLURM === '1')
  throw new Error(`Slurm required (FALAJ_TEST_REQUIRE_SLURM=1) but ${SLURM_MISSING}`);
