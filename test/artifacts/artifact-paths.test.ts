import { describe, expect, it } from 'vitest';
import { validateArtifactPath, validateArtifactPrefix } from '../../src/artifacts/artifact-paths.js';

const code = (fn: () => unknown) => {
  try {
    fn();
    return 'accepted';
  } catch (err) {
    return (err as { code?: string }).code;
  }
};

describe('artifact paths', () => {
  it.each([
    'model.onnx',
    'models/v1/model.onnx',
    '.hidden/file',
    'a..b/c...d',
    'name with spaces/ünïcödé.txt',
    `${'a'.repeat(255)}/b`,
  ])('accepts %j', (p) => {
    expect(validateArtifactPath(p)).toBe(p);
  });

  it.each([
    ['empty', ''],
    ['absolute', '/etc/passwd'],
    ['a drive letter', 'C:/x'],
    ['a parent segment', '../x'],
    ['a parent segment inside', 'a/../../x'],
    ['a trailing parent segment', 'a/..'],
    ['a dot segment', './x'],
    ['a dot segment inside', 'a/./x'],
    ['an empty segment', 'a//x'],
    ['a trailing slash', 'a/'],
    ['a NUL byte', 'a\u0000.txt'],
    ['a control character', 'a\nb'],
    ['a backslash', 'a\\..\\x'],
    ['a segment over 255 bytes', 'a'.repeat(256)],
    ['a path over 1024 bytes', Array.from({ length: 5 }, () => 'a'.repeat(250)).join('/')],
    ['multi-byte characters over the limit', 'é'.repeat(200)],
  ])('refuses %s', (_label, p) => {
    expect(code(() => validateArtifactPath(p))).toBe('FALAJ_INVALID_PATH');
  });

  it('refuses non-strings', () => {
    expect(code(() => validateArtifactPath(undefined))).toBe('FALAJ_INVALID_PATH');
    expect(code(() => validateArtifactPath(42))).toBe('FALAJ_INVALID_PATH');
  });

  it('prefixes may be empty, end with a slash, or stop inside a name', () => {
    for (const p of ['', 'models/', 'models/v', 'models/.', '.']) expect(validateArtifactPrefix(p)).toBe(p);
    expect(validateArtifactPrefix(undefined)).toBe('');
    for (const p of ['/models', '../', 'a/../', 'a//', 'a\\', 'a\u0000']) {
      expect(code(() => validateArtifactPrefix(p))).toBe('FALAJ_INVALID_PATH');
    }
  });
});
