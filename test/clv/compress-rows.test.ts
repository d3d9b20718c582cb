// Row compression and RFM quintiles are fast paths with simple references: the same answers on data
// with many ties, -0 and NaN.
import { describe, expect, it } from 'vitest';
import { compressBgNbdRows } from '../../src/analytics/clv/bgnbd.js';
import { quintileScores } from '../../src/analytics/rfm.js';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

/** Distinct (x, t_x, T) rows in order of first appearance, as Map keys see equality. */
function referenceCompress(x: number[], tx: number[], T: number[], include: number[]) {
  const index = new Map<string, number>();
  const key = (v: number) => (v !== v ? 'NaN' : String(v + 0));
  const out = { x: [] as number[], tx: [] as number[], T: [] as number[], w: [] as number[] };
  for (let i = 0; i < x.length; i++) {
    if (!include[i]) continue;
    const k = `${key(x[i])} ${key(tx[i])} ${key(T[i])}`;
    const at = index.get(k);
    if (at !== undefined) out.w[at]++;
    else {
      index.set(k, out.x.length);
      out.x.push(x[i]);
      out.tx.push(tx[i]);
      out.T.push(T[i]);
      out.w.push(1);
    }
  }
  return out;
}

function referenceQuintiles(values: Float64Array, population: number): Uint8Array {
  const out = new Uint8Array(values.length);
  const sorted = Array.from(values).filter((v) => v === v).sort((a, b) => a - b);
  values.forEach((v, i) => {
    if (v === v) out[i] = 1 + Math.floor((5 * sorted.filter((s) => s < v).length) / population);
  });
  return out;
}

describe('compressBgNbdRows', () => {
  it('merges equal rows in order of first appearance, -0 with 0 and NaN with NaN', () => {
    const rnd = lcg(7);
    for (let round = 0; round < 50; round++) {
      const n = 1 + Math.floor(rnd() * 3000);
      const pick = (k: number) => {
        const r = rnd();
        if (r < 0.02) return Number.NaN;
        if (r < 0.05) return -0;
        return Math.floor(rnd() * k) / 7;
      };
      const x = Array.from({ length: n }, () => Math.floor(rnd() * 4));
      const tx = Array.from({ length: n }, () => pick(6));
      const T = Array.from({ length: n }, () => pick(9));
      const include = Array.from({ length: n }, () => (rnd() < 0.9 ? 1 : 0));
      const got = compressBgNbdRows(x, tx, T, include);
      const want = referenceCompress(x, tx, T, include);
      expect(Array.from(got.w)).toEqual(want.w);
      expect(Array.from(got.x)).toEqual(want.x);
      expect(Array.from(got.tx)).toEqual(want.tx);
      expect(Array.from(got.T)).toEqual(want.T);
    }
  });
});

describe('quintileScores', () => {
  it('scores 1 + floor(5 · worse / N) with ties and NaN outside the population', () => {
    const rnd = lcg(11);
    for (let round = 0; round < 300; round++) {
      const n = 1 + Math.floor(rnd() * 400);
      const distinct = 1 + Math.floor(rnd() * n);
      const values = Float64Array.from({ length: n }, () => (rnd() < 0.2 ? Number.NaN : Math.floor(rnd() * distinct) - distinct / 3));
      const population = values.filter((v) => v === v).length;
      expect(Array.from(quintileScores(values, population))).toEqual(Array.from(referenceQuintiles(values, population)));
    }
  });
});
