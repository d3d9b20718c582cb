// Append-only typed arrays for the loader: amortised doubling, trimmed once at the end. One class per
// element type on purpose: a single generic class would make `push` polymorphic over four typed-array
// kinds, which measurably slows the loader's hot loop.

function grown<T extends Float64Array | Int32Array | Uint8Array | Int8Array>(data: T, min: number, make: (n: number) => T): T {
  let size = Math.max(16, data.length * 2);
  while (size < min) size *= 2;
  const next = make(size);
  next.set(data as never);
  return next;
}

export class GrowF64 {
  data: Float64Array;
  length = 0;
  constructor(initial = 1024) {
    this.data = new Float64Array(initial);
  }
  push(value: number): void {
    if (this.length === this.data.length) this.data = grown(this.data, this.length + 1, (n) => new Float64Array(n));
    this.data[this.length++] = value;
  }
  /** Exact-length result; the builder must not be used afterwards. */
  finish(): Float64Array {
    return this.data.length === this.length ? this.data : this.data.slice(0, this.length);
  }
}

export class GrowI32 {
  data: Int32Array;
  length = 0;
  constructor(initial = 1024) {
    this.data = new Int32Array(initial);
  }
  push(value: number): void {
    if (this.length === this.data.length) this.data = grown(this.data, this.length + 1, (n) => new Int32Array(n));
    this.data[this.length++] = value;
  }
  finish(): Int32Array {
    return this.data.length === this.length ? this.data : this.data.slice(0, this.length);
  }
}

export class GrowU8 {
  data: Uint8Array;
  length = 0;
  constructor(initial = 1024) {
    this.data = new Uint8Array(initial);
  }
  push(value: number): void {
    if (this.length === this.data.length) this.data = grown(this.data, this.length + 1, (n) => new Uint8Array(n));
    this.data[this.length++] = value;
  }
  finish(): Uint8Array {
    return this.data.length === this.length ? this.data : this.data.slice(0, this.length);
  }
}

export class GrowI8 {
  data: Int8Array;
  length = 0;
  constructor(initial = 1024) {
    this.data = new Int8Array(initial);
  }
  push(value: number): void {
    if (this.length === this.data.length) this.data = grown(this.data, this.length + 1, (n) => new Int8Array(n));
    this.data[this.length++] = value;
  }
  finish(): Int8Array {
    return this.data.length === this.length ? this.data : this.data.slice(0, this.length);
  }
}

export const growF64 = (n?: number): GrowF64 => new GrowF64(n);
export const growI32 = (n?: number): GrowI32 => new GrowI32(n);
export const growU8 = (n?: number): GrowU8 => new GrowU8(n);
export const growI8 = (n?: number): GrowI8 => new GrowI8(n);
