// The agenda's order decides the plan: items come out by (at, seq), ties in insertion order.
import { describe, expect, it } from 'vitest';
import { MinHeap } from '../../src/plan/min-heap.js';

describe('MinHeap', () => {
  it('pops in (at, seq) order under interleaved pushes and pops', () => {
    let s = 3;
    const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const heap = new MinHeap<{ at: number; seq: number }>();
    const shadow: { at: number; seq: number }[] = [];
    let seq = 0;
    for (let step = 0; step < 20_000; step++) {
      if (rnd() < 0.6 || shadow.length === 0) {
        const item = { at: Math.floor(rnd() * 500), seq: seq++ };
        heap.push(item);
        shadow.push(item);
      } else {
        shadow.sort((a, b) => a.at - b.at || a.seq - b.seq);
        expect(heap.peek()).toBe(shadow[0]);
        expect(heap.pop()).toBe(shadow.shift());
      }
      expect(heap.size).toBe(shadow.length);
    }
    shadow.sort((a, b) => a.at - b.at || a.seq - b.seq);
    for (const item of shadow) expect(heap.pop()).toBe(item);
    expect(heap.pop()).toBeUndefined();
    expect(heap.peek()).toBeUndefined();
  });
});
