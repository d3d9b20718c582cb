// Seeded, deterministic hashing for holdouts, splits and simulated outcomes. The same (seed, parts)
// always gives the same number, in the plan and in the engine, on every machine.

/** 32-bit FNV-1a over the UTF-16 code units, finished with murmur3's avalanche. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A uniform draw in [0, 1) from the parts. */
export function unitHash(...parts: (string | number)[]): number {
  return hash32(parts.join('\u001f')) / 4294967296;
}
