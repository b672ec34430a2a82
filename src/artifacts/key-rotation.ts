import { readFileSync } from 'node:fs';
import { newId } from '../core/ids.js';
import type { AuditLog } from '../security/audit/audit-log.js';
import { mfaContext } from '../security/auth/second-factor.js';
import { Keyring } from '../security/secrets/keyring.js';
import { secretContext } from '../security/secrets/project-secrets.js';
import type { Store } from '../store/store.js';
import type { ArtifactStore } from './artifact-store.js';

/** What rotation needs: the keyring, what it wraps, and the audit chain to record it in. */
export interface KeyDeps {
  keyring: Keyring;
  artifacts: ArtifactStore;
  store: Store;
  audit: AuditLog;
}

export interface RewrapCount {
  rewrapped: number;
  total: number;
  failed: { id: string; code: string; message: string }[];
}

export interface RotationReport {
  previousVersion: number;
  version: number;
  /** Data keys in artifact sidecars. */
  artifacts: RewrapCount;
  /** Sealed TOTP secrets in users.mfa_secret. */
  mfaSecrets: RewrapCount;
  /** Sealed project secrets (jobs' `secrets`). */
  projectSecrets: RewrapCount;
}

/** Re-wraps one sealed value under the current version, counting the outcome in `count`. */
async function rewrapOne(
  keyring: KeyDeps['keyring'],
  count: RewrapCount,
  id: string,
  sealed: string,
  context: string,
  update: (sealed: string, rewrapped: string) => Promise<{ numUpdatedRows: bigint }>,
): Promise<void> {
  count.total++;
  let rewrapped: string;
  try {
    rewrapped = keyring.rewrap(sealed, context);
  } catch (err) {
    count.failed.push({
      id,
      code: (err as { code?: string }).code ?? 'FALAJ_INTERNAL',
      message: err instanceof Error ? err.message : String(err),
    });
    return;
  }
  if (rewrapped === sealed) return;
  if (Number((await update(sealed, rewrapped)).numUpdatedRows) === 1) count.rewrapped++;
}

type ArtifactRewrap = {
  rewrapped: number;
  total: number;
  failed?: { digest: string; code: string; message: string }[];
};

/**
 * Adds a key-encryption key version, makes it current, and re-wraps under it every data key and
 * sealed secret: artifact sidecars (the data files are not touched) and TOTP secrets. Older
 * versions stay in the keyring, so whatever could not be re-wrapped (reported in `failed`)
 * still opens. Recorded in the audit chain as `keys.rotate`.
 */
export async function rotateKeys(deps: KeyDeps, actor = 'system'): Promise<RotationReport> {
  const { keyring, store } = deps;
  const previousVersion = keyring.currentVersion;
  const version = keyring.addVersion();

  const a = (await deps.artifacts.rewrapKeys()) as ArtifactRewrap;
  const artifacts: RewrapCount = {
    rewrapped: a.rewrapped,
    total: a.total,
    failed: (a.failed ?? []).map((f) => ({ id: f.digest, code: f.code, message: f.message })),
  };

  const mfaSecrets: RewrapCount = { rewrapped: 0, total: 0, failed: [] };
  const projectSecrets: RewrapCount = { rewrapped: 0, total: 0, failed: [] };
  const report: RotationReport = { previousVersion, version, artifacts, mfaSecrets, projectSecrets };
  await store.db.transaction().execute(async (tx) => {
    const users = await tx
      .selectFrom('users')
      .select(['id', 'mfa_secret'])
      .where('mfa_secret', 'is not', null)
      .execute();
    for (const user of users)
      await rewrapOne(
        keyring,
        mfaSecrets,
        user.id,
        user.mfa_secret!,
        mfaContext(user.id),
        async (sealed, rewrapped) =>
          // Conditional: a secret re-enrolled meanwhile is left as its new owner wrote it.
          tx
            .updateTable('users')
            .set({ mfa_secret: rewrapped })
            .where('id', '=', user.id)
            .where('mfa_secret', '=', sealed)
            .executeTakeFirst(),
      );
    const secrets = await tx.selectFrom('project_secrets').select(['project_id', 'name', 'sealed']).execute();
    for (const sec of secrets)
      await rewrapOne(
        keyring,
        projectSecrets,
        `${sec.project_id}/${sec.name}`,
        sec.sealed,
        secretContext(sec.project_id, sec.name),
        (sealed, rewrapped) =>
          tx
            .updateTable('project_secrets')
            .set({ sealed: rewrapped })
            .where('project_id', '=', sec.project_id)
            .where('name', '=', sec.name)
            .where('sealed', '=', sealed)
            .executeTakeFirst(),
      );
    const clean = artifacts.failed.length + mfaSecrets.failed.length + projectSecrets.failed.length === 0;
    await deps.audit.append(tx, {
      actor,
      action: 'keys.rotate',
      objectType: 'keyring',
      objectId: `v${version}`,
      projectId: null,
      sourceIp: 'local',
      outcome: clean ? 'success' : 'failure',
      status: clean ? 200 : 500,
      requestId: newId(),
      details: {
        previousVersion,
        version,
        artifacts: {
          rewrapped: artifacts.rewrapped,
          total: artifacts.total,
          failed: artifacts.failed.length,
        },
        mfaSecrets: {
          rewrapped: mfaSecrets.rewrapped,
          total: mfaSecrets.total,
          failed: mfaSecrets.failed.length,
        },
        projectSecrets: {
          rewrapped: projectSecrets.rewrapped,
          total: projectSecrets.total,
          failed: projectSecrets.failed.length,
        },
      },
    });
  });
  return report;
}

export interface KeyVersionUsage {
  version: number;
  current: boolean;
  createdAt: string | null;
  /** Artifact data keys wrapped by this version (null when the store cannot tell). */
  artifacts: number | null;
  mfaSecrets: number;
}

/** Each key version with what it still wraps: a version that wraps nothing could be retired. */
export async function keyUsage(deps: Omit<KeyDeps, 'audit'>): Promise<KeyVersionUsage[]> {
  const { keyring } = deps;
  const created = new Map<number, number>();
  try {
    const file = JSON.parse(readFileSync(keyring.file, 'utf8')) as {
      keys?: { version: number; created: number }[];
    };
    for (const k of file.keys ?? []) created.set(k.version, k.created);
  } catch {
    // times are informational
  }
  const counter = deps.artifacts as ArtifactStore & { keyVersionCounts?: () => Promise<Map<number, number>> };
  const artifactCounts = counter.keyVersionCounts ? await counter.keyVersionCounts() : null;
  const mfaCounts = new Map<number, number>();
  const users = await deps.store.db
    .selectFrom('users')
    .select('mfa_secret')
    .where('mfa_secret', 'is not', null)
    .execute();
  for (const u of users) {
    try {
      const v = Keyring.versionOf(u.mfa_secret!);
      mfaCounts.set(v, (mfaCounts.get(v) ?? 0) + 1);
    } catch {
      // a malformed secret wraps under no version
    }
  }
  return keyring.versions.map((version) => {
    const t = created.get(version);
    return {
      version,
      current: version === keyring.currentVersion,
      createdAt: t ? new Date(t).toISOString() : null,
      artifacts: artifactCounts ? (artifactCounts.get(version) ?? 0) : null,
      mfaSecrets: mfaCounts.get(version) ?? 0,
    };
  });
}
