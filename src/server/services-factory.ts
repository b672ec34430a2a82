import path from 'node:path';
import { LocalArtifactStore } from '../artifacts/local-artifact-store.js';
import { type Clock, systemClock } from '../core/clock.js';
import type { FalajConfig } from '../core/config.js';
import { AuditLog } from '../security/audit-log.js';
import { Keyring } from '../security/keyring.js';
import { openStore } from '../store/store.js';
import type { Services } from './services.js';

/** Opens every backend the configuration names (store migrated, keyring created if new). */
export async function createServices(config: FalajConfig, clock: Clock = systemClock): Promise<Services> {
  const store = await openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  const keyring = Keyring.open(config.dataDir, config.masterKey);
  const artifacts = new LocalArtifactStore(path.join(config.dataDir, 'artifacts'), keyring);
  return { config, store, clock, audit: new AuditLog(store.dialect, clock), keyring, artifacts };
}
