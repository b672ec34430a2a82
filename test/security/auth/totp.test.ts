import { describe, expect, it } from 'vitest';
import { newRecoveryCode } from '../../../src/security/auth/mfa-store.js';
import { hashRecoveryCode } from '../../../src/security/auth/second-factor.js';
import { matchTotp, newTotpSecret, otpauthUri, totpAt } from '../../../src/security/auth/totp.js';

// RFC 6238, Appendix B: the SHA-1 seed is the ASCII string "12345678901234567890"; at T = 59 s
// the 8-digit TOTP is 94287082, so the 6-digit code is its last six digits.
const RFC_SECRET_BASE32 = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

describe('TOTP (RFC 6238)', () => {
  it('the base32 seed is the RFC ASCII secret', () => {
    const decoded = Buffer.from('12345678901234567890', 'ascii');
    // base32 of the RFC seed, computed independently of otplib
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
    let bits = '';
    for (const byte of decoded) bits += byte.toString(2).padStart(8, '0');
    const b32 = bits
      .match(/.{5}/g)!
      .map((b) => alphabet[Number.parseInt(b, 2)])
      .join('');
    expect(b32).toBe(RFC_SECRET_BASE32);
  });

  it('matches the published test vector at T = 59 s', () => {
    expect(totpAt(RFC_SECRET_BASE32, 59_000)).toBe('287082');
    expect(matchTotp(RFC_SECRET_BASE32, '287082', 59_000)).toBe(1); // time step floor(59 / 30)
  });

  it('matches the other SHA-1 vectors of the RFC (last six digits)', () => {
    const vectors: [number, string][] = [
      [1111111109, '07081804'],
      [1111111111, '14050471'],
      [1234567890, '89005924'],
      [2000000000, '69279037'],
    ];
    for (const [seconds, eight] of vectors)
      expect(totpAt(RFC_SECRET_BASE32, seconds * 1000)).toBe(eight.slice(2));
  });

  it('accepts one step of drift either way and refuses two', () => {
    const now = 1_700_000_015_000; // mid-step
    const step = Math.floor(now / 30_000);
    for (const [offset, expected] of [
      [-2, null],
      [-1, step - 1],
      [0, step],
      [1, step + 1],
      [2, null],
    ] as const) {
      const code = totpAt(RFC_SECRET_BASE32, now + offset * 30_000);
      expect(matchTotp(RFC_SECRET_BASE32, code, now), `offset ${offset}`).toBe(expected);
    }
  });

  it('refuses anything but six digits', () => {
    const now = 59_000;
    for (const code of ['', '28708', '2870820', '94287082', 'abcdef', ' 287082', '287082 ']) {
      expect(matchTotp(RFC_SECRET_BASE32, code, now)).toBeNull();
    }
  });

  it('new secrets are 160-bit base32 and the URI is what authenticator apps read', () => {
    const secret = newTotpSecret();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const uri = new URL(otpauthUri('alice', secret));
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe('/Falaj:alice');
    expect(uri.searchParams.get('secret')).toBe(secret);
    expect(uri.searchParams.get('issuer')).toBe('Falaj');
  });

  it('recovery codes carry 80 random bits and hash the same whatever the dashes or case', () => {
    const codes = new Set(Array.from({ length: 200 }, newRecoveryCode));
    expect(codes.size).toBe(200);
    for (const c of codes) expect(c).toMatch(/^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$/);
    const [code] = [...codes];
    expect(hashRecoveryCode(code!.toUpperCase().replaceAll('-', ''))).toBe(hashRecoveryCode(code!));
    expect(hashRecoveryCode(code!)).toMatch(/^[0-9a-f]{64}$/);
  });
});
