import path from 'node:path';
import { BlobReaper } from '../artifacts/blob-reaper.js';
import { LocalArtifactStore } from '../artifacts/local-artifact-store.js';
import { type Clock, systemClock } from '../core/clock.js';
import type { FalajConfig } from '../core/config.js';
import type { Services } from '../http/services.js';
import { AuditLog } from '../security/audit/audit-log.js';
import { Keyring } from '../security/secrets/keyring.js';
import { openStore } from '../store/store.js';

/** Opens every backend the configuration names (store migrated, keyring created if new). */
export async function createServices(config: FalajConfig, clock: Clock = systemClock): Promise<Services> {
  const store = await openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  const keyring = Keyring.open(config.dataDir, config.masterKey);
  const artifacts = new LocalArtifactStore(path.join(config.dataDir, 'artifacts'), keyring);
  const base = { config, store, clock, audit: new AuditLog(store.dialect, clock), keyring, artifacts };
  // The reaper reads the store and the artifact store through the services it belongs to.
  const svc: Services = Object.assign(base, { reaper: undefined as unknown as BlobReaper });
  svc.reaper = new BlobReaper(svc);
  return svc;
}
