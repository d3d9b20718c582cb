// Strings kept as UTF-8 bytes in one arena with Int32 offsets, decoded only when read. The loader parses
// files as bytes; copying a field's bytes is several times cheaper than decoding it to a JS string, and
// an arena is one allocation instead of one heap object per value (a 20M-event file has ~20M strings).

const EMPTY = new Uint8Array(0);

function bufferView(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Append-only list of strings (null = empty) stored as bytes + offsets: the shape of a string column. */
export class StringArena {
  bytes: Uint8Array;
  offsets: Int32Array;
  byteLength: number;
  length: number;
  private view: Buffer;

  constructor(bytes: Uint8Array = new Uint8Array(1024), offsets?: Int32Array, length = 0) {
    this.bytes = bytes;
    this.offsets = offsets ?? new Int32Array(256);
    this.length = length;
    this.byteLength = length === 0 ? 0 : this.offsets[length];
    this.view = bufferView(this.bytes);
  }

  /** Rebuilds an arena from its persisted parts (see dataset-cache.ts). */
  static from(bytes: Uint8Array, offsets: Int32Array): StringArena {
    return new StringArena(bytes, offsets, offsets.length - 1);
  }

  push(buf: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.ensureBytes(n);
    if (n > 32) this.bytes.set(buf.subarray(start, end), this.byteLength);
    else {
      // short strings: a loop beats creating a subarray view per value
      const bytes = this.bytes;
      const at = this.byteLength - start;
      for (let i = start; i < end; i++) bytes[at + i] = buf[i];
    }
    this.byteLength += n;
    this.ensureOffsets();
    this.offsets[++this.length] = this.byteLength;
  }

  pushString(value: string | null | undefined): void {
    if (value === null || value === undefined || value === '') {
      this.pushEmpty();
      return;
    }
    const encoded = Buffer.from(value, 'utf8');
    this.push(encoded, 0, encoded.length);
  }

  pushEmpty(): void {
    this.ensureOffsets();
    this.offsets[++this.length] = this.byteLength;
  }

  /** The string at i, or null when empty (datasets do not distinguish "" from missing). */
  get(i: number): string | null {
    const s = this.offsets[i];
    const e = this.offsets[i + 1];
    if (s === e) return null;
    return this.view.toString('utf8', s, e);
  }

  /** Trimmed copies of the backing arrays, for persistence. */
  parts(): { bytes: Uint8Array; offsets: Int32Array } {
    return { bytes: this.bytes.slice(0, this.byteLength), offsets: this.offsets.slice(0, this.length + 1) };
  }

  private ensureBytes(extra: number): void {
    if (this.byteLength + extra <= this.bytes.length) return;
    let size = Math.max(this.bytes.length * 2, 1024);
    while (size < this.byteLength + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.bytes.subarray(0, this.byteLength));
    this.bytes = next;
    this.view = bufferView(next);
  }

  private ensureOffsets(): void {
    if (this.length + 2 <= this.offsets.length) return;
    const next = new Int32Array(Math.max(this.offsets.length * 2, 256));
    next.set(this.offsets.subarray(0, this.length + 1));
    this.offsets = next;
  }
}

function hashBytes(buf: Uint8Array, start: number, end: number): number {
  // FNV-1a, 32 bit: cheap on short keys (ids, product codes), good enough spread for open addressing.
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i], 0x01000193);
  // FNV's low bits depend only on the low bits of the input bytes (ids like c000123 collide in a
  // power-of-two table); a murmur3 finaliser mixes the high bits down.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h;
}

/**
 * A string interner keyed by bytes: `intern(buf, s, e)` returns a dense code (0, 1, 2, …) without creating a
 * JS string. Used for customer ids (code = customer index) and for the dictionary of string event props.
 * The hash index is rebuilt lazily, so a pool restored from the binary cache costs nothing until searched.
 */
export class ByteStringPool {
  readonly arena: StringArena;
  /**
   * Open addressing, linear probing; entry k is (code, hash) at [2k, 2k+1] so a probe touches one cache
   * line (lookups of random ids are dominated by cache misses, not by hashing).
   */
  private table: Int32Array | undefined;
  private mask = 0;
  private cache: (string | undefined)[] = [];

  constructor(arena: StringArena = new StringArena()) {
    this.arena = arena;
  }

  get size(): number {
    return this.arena.length;
  }

  /** The code of these bytes, or -1. */
  find(buf: Uint8Array, start: number, end: number): number {
    const table = this.table ?? this.buildIndex();
    const h = hashBytes(buf, start, end);
    const mask = this.mask;
    let slot = h & mask;
    for (;;) {
      const code = table[slot << 1];
      if (code < 0) return -1;
      if (table[(slot << 1) + 1] === h && this.equals(code, buf, start, end)) return code;
      slot = (slot + 1) & mask;
    }
  }

  private equals(code: number, buf: Uint8Array, start: number, end: number): boolean {
    const offsets = this.arena.offsets;
    const s = offsets[code];
    const len = end - start;
    if (offsets[code + 1] - s !== len) return false;
    const bytes = this.arena.bytes;
    for (let k = 0; k < len; k++) if (bytes[s + k] !== buf[start + k]) return false;
    return true;
  }

  /** The code of these bytes, adding them when new. */
  intern(buf: Uint8Array, start: number, end: number): number {
    const found = this.find(buf, start, end);
    if (found >= 0) return found;
    const code = this.arena.length;
    this.arena.push(buf, start, end);
    if ((code + 1) * 2 > this.mask + 1) this.buildIndex();
    else this.place(code, hashBytes(buf, start, end));
    return code;
  }

  findString(value: string): number {
    const b = Buffer.from(value, 'utf8');
    return this.find(b, 0, b.length);
  }

  internString(value: string): number {
    const b = Buffer.from(value, 'utf8');
    return this.intern(b, 0, b.length);
  }

  /** The string for a code ("" for the empty string, which pools may hold). */
  get(code: number): string {
    let cache = this.cache;
    if (code >= cache.length) cache = this.growCache(code);
    const cached = cache[code];
    if (cached !== undefined) return cached;
    const value = this.arena.get(code) ?? '';
    cache[code] = value;
    return value;
  }

  /**
   * The cache sized to the pool up front: an array written at scattered indexes (a plan reads the ids of
   * the customers it enters, all over a million) turns into a hash table, slower to read and to grow.
   */
  private growCache(code: number): (string | undefined)[] {
    const next = new Array<string | undefined>(Math.max(code + 1, this.arena.length, 2 * this.cache.length));
    for (let i = 0; i < this.cache.length; i++) next[i] = this.cache[i];
    this.cache = next;
    return next;
  }

  private buildIndex(): Int32Array {
    let cap = 1024;
    while (cap < this.arena.length * 2) cap *= 2;
    this.table = new Int32Array(cap * 2).fill(-1);
    this.mask = cap - 1;
    const { bytes, offsets } = this.arena;
    for (let code = 0; code < this.arena.length; code++) {
      this.place(code, hashBytes(bytes, offsets[code], offsets[code + 1]));
    }
    return this.table;
  }

  private place(code: number, h: number): void {
    const table = this.table!;
    let slot = h & this.mask;
    while (table[slot << 1] >= 0) slot = (slot + 1) & this.mask;
    table[slot << 1] = code;
    table[(slot << 1) + 1] = h;
  }
}

export { EMPTY as EMPTY_BYTES };
