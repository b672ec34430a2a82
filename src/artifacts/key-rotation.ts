import { readFileSync } from 'node:fs';
import { newId } from '../core/ids.js';
import type { AuditLog } from '../security/audit-log.js';
import { Keyring } from '../security/keyring.js';
import { mfaContext } from '../security/second-factor.js';
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
  const report: RotationReport = { previousVersion, version, artifacts, mfaSecrets };
  await store.db.transaction().execute(async (tx) => {
    const users = await tx
      .selectFrom('users')
      .select(['id', 'mfa_secret'])
      .where('mfa_secret', 'is not', null)
      .execute();
    for (const user of users) {
      const sealed = user.mfa_secret!;
      mfaSecrets.total++;
      let rewrapped: string;
      try {
        rewrapped = keyring.rewrap(sealed, mfaContext(user.id));
      } catch (err) {
        mfaSecrets.failed.push({
          id: user.id,
          code: (err as { code?: string }).code ?? 'FALAJ_INTERNAL',
          message: err instanceof Error ? err.message : String(err),
        });
        continue;
      }
      if (rewrapped === sealed) continue;
      // Conditional: a secret re-enrolled meanwhile is left as its new owner wrote it.
      const res = await tx
        .updateTable('users')
        .set({ mfa_secret: rewrapped })
        .where('id', '=', user.id)
        .where('mfa_secret', '=', sealed)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 1) mfaSecrets.rewrapped++;
    }
    const clean = artifacts.failed.length + mfaSecrets.failed.length === 0;
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
