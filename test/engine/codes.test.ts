// The engine's code table: stable, unique, every code used is listed with a title.
import { describe, expect, it } from 'vitest';
import { ENGINE_CODE, ENGINE_CODES } from '../../src/engine/codes.js';

describe('ENGINE_CODES', () => {
  it('lists every ENGINE_CODE once, all HER7xxx, each with a title', () => {
    const listed = ENGINE_CODES.map((c) => c.code);
    expect(new Set(listed).size).toBe(listed.length);
    expect([...listed].sort()).toEqual([...new Set(Object.values(ENGINE_CODE))].sort());
    for (const c of ENGINE_CODES) {
      expect(c.code).toMatch(/^HER7\d{3}$/);
      expect(c.title.length).toBeGreaterThan(10);
    }
  });
});
