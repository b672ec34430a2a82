import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FalajError } from '../../core/errors.js';

/**
 * Versioned key-encryption keys (KEKs). Data keys and small secrets are wrapped with the
 * current version; older versions stay to unwrap what they wrapped until `rotate` re-wraps it.
 *
 * The keyring is a JSON file in the data directory (mode 0600). With FALAJ_MASTER_KEY set
 * (base64 of 32 bytes), every KEK in the file is itself sealed under the master key, so the
 * file alone is useless to whoever copies the data directory.
 */
interface KeyringFile {
  format: 1;
  current: number;
  keys: { version: number; created: number; key: string }[];
}

const NONCE = 12;
const TAG = 16;

function seal(key: Buffer, plain: Buffer, aad: string): Buffer {
  const nonce = randomBytes(NONCE);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(Buffer.from(aad));
  const body = Buffer.concat([c.update(plain), c.final()]);
  return Buffer.concat([nonce, body, c.getAuthTag()]);
}

function unseal(key: Buffer, sealed: Buffer, aad: string): Buffer {
  if (sealed.length < NONCE + TAG) throw new Error('sealed value too short');
  const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, NONCE));
  d.setAAD(Buffer.from(aad));
  d.setAuthTag(sealed.subarray(sealed.length - TAG));
  return Buffer.concat([d.update(sealed.subarray(NONCE, sealed.length - TAG)), d.final()]);
}

export function parseMasterKey(masterKey: string): Buffer {
  const key = Buffer.from(masterKey, 'base64');
  if (key.length !== 32)
    throw new FalajError('FALAJ_CONFIG', 'FALAJ_MASTER_KEY must be base64 of exactly 32 bytes');
  return key;
}

export class Keyring {
  private keys = new Map<number, Buffer>();
  private current = 0;
  private readonly master: Buffer | undefined;

  private constructor(
    readonly file: string,
    masterKey: string | undefined,
  ) {
    this.master = masterKey ? parseMasterKey(masterKey) : undefined;
  }

  /** Opens the keyring in `dataDir/keys`, creating it with a first key version if absent. */
  static open(dataDir: string, masterKey?: string): Keyring {
    const dir = path.join(dataDir, 'keys');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const ring = new Keyring(path.join(dir, 'keyring.json'), masterKey);
    if (existsSync(ring.file)) ring.load();
    else ring.addVersion();
    return ring;
  }

  get currentVersion(): number {
    return this.current;
  }

  get versions(): number[] {
    return [...this.keys.keys()].sort((a, b) => a - b);
  }

  private load(): void {
    let parsed: KeyringFile;
    try {
      parsed = JSON.parse(readFileSync(this.file, 'utf8')) as KeyringFile;
    } catch (err) {
      throw new FalajError('FALAJ_CONFIG', `cannot read keyring ${this.file}: ${String(err)}`);
    }
    const keys = new Map<number, Buffer>();
    for (const k of parsed.keys) {
      const raw = Buffer.from(k.key, 'base64');
      try {
        keys.set(k.version, this.master ? unseal(this.master, raw, `falaj-kek-v${k.version}`) : raw);
      } catch {
        throw new FalajError(
          'FALAJ_CONFIG',
          `keyring ${this.file}: key v${k.version} does not open with FALAJ_MASTER_KEY`,
        );
      }
    }
    this.keys = keys;
    this.current = parsed.current;
    this.loadedMtime = statSync(this.file).mtimeMs;
  }

  private save(created: Map<number, number>): void {
    const out: KeyringFile = {
      format: 1,
      current: this.current,
      keys: this.versions.map((version) => {
        const key = this.keys.get(version)!;
        const stored = this.master ? seal(this.master, key, `falaj-kek-v${version}`) : key;
        return { version, created: created.get(version) ?? Date.now(), key: stored.toString('base64') };
      }),
    };
    // Written beside and renamed over: a crash leaves the old keyring or the new, never half.
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(out, null, 2), { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.file);
    this.loadedMtime = statSync(this.file).mtimeMs;
  }

  private createdTimes(): Map<number, number> {
    const created = new Map<number, number>();
    if (existsSync(this.file)) {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as KeyringFile;
      for (const k of parsed.keys) created.set(k.version, k.created);
    }
    return created;
  }

  /** Adds a new KEK version and makes it current; returns its number. */
  addVersion(): number {
    if (existsSync(this.file)) this.load(); // another process may have rotated meanwhile
    const version = this.current + 1;
    this.keys.set(version, randomBytes(32));
    this.current = version;
    this.save(this.createdTimes());
    return version;
  }

  private loadedMtime = 0;

  /** Reloads when the file changed on disk (a stat per wrap: wraps are per object, not per byte). */
  private reloadIfChanged(): void {
    try {
      const mtime = statSync(this.file).mtimeMs;
      if (mtime !== this.loadedMtime) this.load();
    } catch {
      // A missing file keeps the keys in memory; the next save recreates it.
    }
  }

  private kek(version: number): Buffer {
    let key = this.keys.get(version);
    if (!key && existsSync(this.file)) {
      this.load(); // rotated by `falaj keys rotate` while this process was running
      key = this.keys.get(version);
    }
    if (!key) throw new FalajError('FALAJ_KEY_UNAVAILABLE', `key version ${version} is not in the keyring`);
    return key;
  }

  /** Wraps `secret` (a data key, a TOTP secret) under the current KEK, bound to `context`. */
  wrap(secret: Buffer, context: string): string {
    this.reloadIfChanged(); // `falaj keys rotate` may have added a version since we loaded
    const v = this.current;
    return `v${v}:${seal(this.kek(v), secret, `${context}|v${v}`).toString('base64')}`;
  }

  unwrap(wrapped: string, context: string): Buffer {
    const v = Keyring.versionOf(wrapped);
    const body = Buffer.from(wrapped.slice(wrapped.indexOf(':') + 1), 'base64');
    try {
      return unseal(this.kek(v), body, `${context}|v${v}`);
    } catch (err) {
      if (err instanceof FalajError) throw err;
      throw new FalajError('FALAJ_ARTIFACT_INTEGRITY', 'a wrapped key failed authentication');
    }
  }

  /** Re-wraps under the current version; returns the input unchanged if already current. */
  rewrap(wrapped: string, context: string): string {
    if (Keyring.versionOf(wrapped) === this.current) return wrapped;
    return this.wrap(this.unwrap(wrapped, context), context);
  }

  static versionOf(wrapped: string): number {
    const m = /^v(\d+):/.exec(wrapped);
    if (!m) throw new FalajError('FALAJ_ARTIFACT_INTEGRITY', 'wrapped key has no version prefix');
    return Number(m[1]);
  }
}
