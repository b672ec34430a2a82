import { describe, expect, it } from 'vitest';
import { bindInputs, INTERNAL_PREFIX } from '../../../src/training/onnx/names.js';

describe('bindInputs', () => {
  it('sanitises, de-duplicates and keeps clear of output and internal names', () => {
    const b = bindInputs([
      { name: 'a b', kind: 'numeric' },
      { name: 'a_b', kind: 'numeric' },
      { name: 'label', kind: 'numeric' },
      { name: '', kind: 'numeric' },
      { name: '1st', kind: 'numeric' },
      { name: `${INTERNAL_PREFIX}x`, kind: 'numeric' },
    ]);
    expect(b.map((x) => x.input)).toEqual(['a_b', 'a_b_2', 'label_2', 'f_', 'f_1st', 'falaj_x']);
    expect(b.map((x) => x.column)).toEqual(['a b', 'a_b', 'label', '', '1st', `${INTERNAL_PREFIX}x`]);
    expect(b.every((x) => !x.input.startsWith(INTERNAL_PREFIX))).toBe(true);
  });

  it('picks a missing token that is none of the levels', () => {
    const [plain, withEmpty] = bindInputs([
      { name: 'c', kind: 'categorical', levels: ['a'] },
      { name: 'd', kind: 'categorical', levels: ['', '(missing)', 'a'] },
    ]);
    expect(plain?.missing).toBe('');
    expect(withEmpty?.missing).toBe('(missing)*');
  });
});
