// Helpers the generated JavaScript calls (passed in as `H`). Kept few and small: the hot paths (comparisons,
// arithmetic, and/or) are generated inline; helpers cover what would bloat the code or needs node:crypto.
import { createHash } from 'node:crypto';

const EMPTY: Readonly<Record<string, unknown>> = Object.freeze({});

/** String length in Unicode code points, as PostgreSQL's length() counts characters (not UTF-16 units). */
function codePointLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

/**
 * `value in list` with PostgreSQL's `value = ANY(list)` semantics: null list → null; empty list → false
 * (even for a null value); null value → null; a match → true; no match but a null element → null; else false.
 */
function inList(value: unknown, list: readonly unknown[] | null | undefined): boolean | null {
  if (list == null) return null;
  if (list.length === 0) return false;
  if (value == null) return null;
  let sawNull = false;
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    if (item === value) return true;
    if (item == null) sawNull = true;
  }
  return sawNull ? null : false;
}

/**
 * bucket(N[, salt]): parseInt(md5(`${salt}:${customerId}`).slice(0, 8), 16) % N, salt defaulting to the
 * project's seed. md5 is chosen because PostgreSQL computes the same value without extensions:
 * ('x' || substr(md5(salt || ':' || id), 1, 8))::bit(32)::bigint % N — so plan (JS) and engine (SQL) put
 * every customer in the same bucket (checked on PGlite, including hashes with the high bit set: bigint reads
 * the 32 bits unsigned like parseInt; ::int would go negative). A split, not a secret: md5's weakness is moot.
 */
function bucket(n: number, salt: string | undefined, env: { customerId: string; bucketSeed?: string }): number {
  const s = salt ?? env.bucketSeed ?? '';
  const hex = createHash('md5').update(`${s}:${env.customerId}`).digest('hex');
  return parseInt(hex.slice(0, 8), 16) % n;
}

export const runtime = Object.freeze({ EMPTY, codePointLength, inList, bucket });
export type Runtime = typeof runtime;
