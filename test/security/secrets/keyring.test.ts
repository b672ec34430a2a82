import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Keyring } from '../../../src/security/secrets/keyring.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'falaj-keyring-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('keyring', () => {
  it('wraps and unwraps bound to a context; another context or a flipped byte fails', () => {
    const ring = Keyring.open(tmp());
    const secret = Buffer.from('a data key of thirty-two bytes!!');
    const wrapped = ring.wrap(secret, 'ctx-a');
    expect(wrapped).toMatch(/^v1:/);
    expect(ring.unwrap(wrapped, 'ctx-a')).toEqual(secret);
    expect(() => ring.unwrap(wrapped, 'ctx-b')).toThrow();
    const body = Buffer.from(wrapped.slice(3), 'base64');
    body[20] = body[20]! ^ 1;
    expect(() => ring.unwrap(`v1:${body.toString('base64')}`, 'ctx-a')).toThrow();
  });

  it('is written with mode 0600 and holds no key in the clear under a master key', () => {
    const dir = tmp();
    const master = Buffer.alloc(32, 7).toString('base64');
    Keyring.open(dir, master);
    const file = path.join(dir, 'keys/keyring.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { keys: { key: string }[] };
    // A sealed key is nonce + 32 bytes + tag, not a bare 32-byte key.
    expect(Buffer.from(stored.keys[0]!.key, 'base64').length).toBe(12 + 32 + 16);
    expect(() => Keyring.open(dir, Buffer.alloc(32, 8).toString('base64'))).toThrow(/FALAJ_MASTER_KEY/);
  });

  it('a running process picks up a version added by another process (falaj keys rotate)', () => {
    const dir = tmp();
    const server = Keyring.open(dir);
    const old = server.wrap(Buffer.alloc(32, 1), 'x');
    const cli = Keyring.open(dir);
    expect(cli.addVersion()).toBe(2);
    // The server wraps new objects under the new version without a restart...
    expect(server.wrap(Buffer.alloc(32, 2), 'x')).toMatch(/^v2:/);
    // ...still opens what v1 wrapped, and re-wraps it to v2.
    expect(server.unwrap(old, 'x')).toEqual(Buffer.alloc(32, 1));
    expect(server.rewrap(old, 'x')).toMatch(/^v2:/);
  });
});
