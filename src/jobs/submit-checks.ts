// What a job spec must satisfy, beyond its own shape (job-spec.ts), before it is accepted: what
// it names exists now, and it stays out of the server's data directory. Said at submit, not at launch.
import path from 'node:path';
import { findArtifact } from '../artifacts/artifact-rows.js';
import { FalajError } from '../core/errors.js';
import { isWithin } from '../core/paths.js';
import { missingSecrets } from '../security/secrets/project-secrets.js';
import type { Executor } from '../store/executor.js';
import { assertQueueExists } from './queues.js';
import type { JobSpec } from './types.js';

/**
 * A job never runs in the server's data directory (keys, database, other attempts): its sandbox
 * would not show it anyway, and without the sandbox it must not be the way in. Said at submit.
 */
function assertOutsideDataDir(spec: JobSpec, dataDir: string): void {
  for (const [field, dir] of [
    ['workdir', spec.workdir],
    ['code', spec.code && 'path' in spec.code ? spec.code.path : undefined],
  ] as const) {
    if (dir === undefined || !path.isAbsolute(dir)) continue;
    if (isWithin(dir, dataDir))
      throw new FalajError(
        'FALAJ_INVALID_ARGUMENT',
        `job spec: ${field} '${dir}' is in the server's data directory, which jobs never see`,
        { field },
      );
  }
}

/** Refuses (FALAJ_INVALID_ARGUMENT) a spec the project cannot run: the first problem found is said. */
export async function assertSubmittable(
  db: Executor,
  project: { id: string; name: string },
  spec: JobSpec,
  dataDir: string,
): Promise<void> {
  // Secrets are resolved at launch; names that do not exist are refused now, not then.
  const missing = await missingSecrets(db, project.id, Object.values(spec.secrets ?? {}));
  if (missing.length > 0)
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      `job spec: secret '${missing[0]}' does not exist in '${project.name}'`,
      {
        field: 'secrets',
        missing,
      },
    );
  if (spec.code && 'artifact' in spec.code) {
    const tar = await findArtifact(db, project.id, spec.code.artifact);
    if (!tar)
      throw new FalajError(
        'FALAJ_INVALID_ARGUMENT',
        `job spec: code artifact '${spec.code.artifact}' does not exist`,
        {
          field: 'code',
        },
      );
  }
  assertOutsideDataDir(spec, dataDir);
  await assertQueueExists(db, spec.queue);
}
