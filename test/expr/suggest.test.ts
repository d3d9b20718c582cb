import { describe, expect, it } from 'vitest';
import { EXPR_CODE, EXPR_CODES } from '../../src/expr/codes.js';
import { closest, editDistance } from '../../src/expr/suggest.js';

describe('closest', () => {
  const events = ['signup', 'product_view', 'cart_add', 'purchase', 'email_open', 'email_click'];
  it.each([
    ['purchse', 'purchase'],
    ['purchace', 'purchase'],
    ['Purchase', 'purchase'],
    ['prodcut_view', 'product_view'],
    ['email_clik', 'email_click'],
    ['signp', 'signup'],
  ])('%s → %s', (name, expected) => {
    expect(closest(name, events)).toBe(expected);
  });

  it('gives nothing when nothing is close', () => {
    expect(closest('refund', events)).toBeUndefined();
    expect(closest('x', ['y'])).toBeUndefined();
    expect(closest('abc', [])).toBeUndefined();
  });

  it('abbreviations of short names', () => {
    expect(closest('cnt', ['count', 'sum'])).toBe('count');
  });

  it('edit distance counts a transposition as one edit', () => {
    expect(editDistance('ab', 'ba')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
  });
});

describe('EXPR_CODES', () => {
  it('are unique, HER2xxx and in order', () => {
    const codes = EXPR_CODES.map((c) => c.code);
    expect(new Set(codes).size).toBe(codes.length);
    expect(codes.every((c) => /^HER2\d{3}$/.test(c))).toBe(true);
    expect([...codes].sort()).toEqual(codes);
  });

  it('name every code the checker can emit, and only those', () => {
    expect(EXPR_CODES.map((c) => c.code)).toEqual(Object.values(EXPR_CODE));
  });
});
