// The binary form of a loaded dataset: every typed array written once into one file behind a JSON header,
// read back with one read into one ArrayBuffer and views over it (no parsing, no per-value work). Loading
// it runs at disk/page-cache speed, far above CSV parsing; the key covers the model, the strict flag and
// the source files' sizes and mtimes, so a changed file or model simply misses the cache.
import { closeSync, fstatSync, openSync, readSync, renameSync, writeSync } from 'node:fs';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import type { DataModel } from '../model/data-model.js';
import { ByteStringPool, StringArena } from './byte-strings.js';
import { Dataset, type AttributeColumn, type EventTable, type PropColumn } from './dataset.js';
import type { Counts } from './row-problems.js';

const MAGIC = Buffer.from('HERALDDS', 'latin1');
export const CACHE_FORMAT_VERSION = 1;

export interface CacheMeta {
  diagnostics: Diagnostic[];
  skipped: Counts;
  ignored: Counts;
}

type Typed = Float64Array | Int32Array | Int8Array | Uint8Array;
const CTORS = { f64: Float64Array, i32: Int32Array, i8: Int8Array, u8: Uint8Array } as const;
type DType = keyof typeof CTORS;

function dtypeOf(a: Typed): DType {
  if (a instanceof Float64Array) return 'f64';
  if (a instanceof Int32Array) return 'i32';
  if (a instanceof Int8Array) return 'i8';
  return 'u8';
}

/** A stable text of the model, part of the cache key. */
export function modelFingerprint(model: DataModel): string {
  const fields = (m: ReadonlyMap<string, { name: string; type: string; pii?: string }>) =>
    [...m.values()].map((f) => [f.name, f.type, f.pii ?? '']);
  return JSON.stringify({
    id: model.customerId,
    attributes: fields(model.attributes),
    events: [...model.events.values()].map((e) => [e.name, fields(e.props)]),
  });
}

export function writeDatasetCache(file: string, ds: Dataset, meta: CacheMeta): void {
  const arrays: Typed[] = [];
  const ref = (a: Typed) => {
    arrays.push(a);
    return { $a: arrays.length - 1 };
  };
  const arena = (a: StringArena) => {
    const p = a.parts();
    return { bytes: ref(p.bytes), offsets: ref(p.offsets) };
  };
  const skeleton = {
    version: CACHE_FORMAT_VERSION,
    meta,
    customers: {
      count: ds.customers.count,
      ids: arena(ds.customers.ids.arena),
      columns: [...ds.customers.columns.values()].map((c) => ({
        name: c.field.name,
        kind: c.kind,
        values: c.kind === 'string' ? arena(c.values) : c.kind === 'list' ? c.values : ref(c.values),
      })),
    },
    strings: arena(ds.strings.arena),
    tables: ds.eventTables.map((t) => ({
      name: t.name,
      count: t.count,
      offsets: ref(t.offsets),
      ts: ref(t.ts),
      seq: ref(t.seq),
      props: [...t.props.values()].map((p) =>
        p.kind === 'number' || p.kind === 'bool'
          ? { name: p.field.name, kind: p.kind, values: ref(p.values) }
          : p.kind === 'string'
            ? { name: p.field.name, kind: p.kind, codes: ref(p.codes) }
            : { name: p.field.name, kind: p.kind, element: p.element, offsets: ref(p.offsets), items: ref(p.items), present: ref(p.present) },
      ),
    })),
    products: ds.products,
    arrays: [] as { dtype: DType; offset: number; length: number }[],
  };
  let offset = 0;
  for (const a of arrays) {
    skeleton.arrays.push({ dtype: dtypeOf(a), offset, length: a.length });
    offset += Math.ceil(a.byteLength / 8) * 8;
  }
  const header = Buffer.from(JSON.stringify(skeleton), 'utf8');
  const prefix = Buffer.alloc(Math.ceil((MAGIC.length + 4 + header.length) / 8) * 8);
  MAGIC.copy(prefix, 0);
  prefix.writeUInt32LE(header.length, MAGIC.length);
  header.copy(prefix, MAGIC.length + 4);
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, prefix);
    const pad = Buffer.alloc(8);
    for (const a of arrays) {
      const bytes = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
      for (let at = 0; at < bytes.length; at += 1 << 30) writeSync(fd, bytes, at, Math.min(1 << 30, bytes.length - at));
      const rest = Math.ceil(a.byteLength / 8) * 8 - a.byteLength;
      if (rest > 0) writeSync(fd, pad, 0, rest);
    }
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

interface Skeleton {
  version: number;
  meta: CacheMeta;
  customers: { count: number; ids: ArenaRef; columns: { name: string; kind: AttributeColumn['kind']; values: unknown }[] };
  strings: ArenaRef;
  tables: { name: string; count: number; offsets: Ref; ts: Ref; seq: Ref; props: Record<string, unknown>[] }[];
  products: Dataset['products'];
  arrays: { dtype: DType; offset: number; length: number }[];
}
interface Ref {
  $a: number;
}
interface ArenaRef {
  bytes: Ref;
  offsets: Ref;
}

/** The dataset stored in `file`, or undefined when it is not a readable cache of this format. */
export function readDatasetCache(file: string, model: DataModel): { dataset: Dataset; meta: CacheMeta } | undefined {
  const fd = openSync(file, 'r');
  let ab: ArrayBuffer;
  try {
    const size = fstatSync(fd).size;
    ab = new ArrayBuffer(size);
    const view = new Uint8Array(ab);
    for (let at = 0; at < size; ) {
      const n = readSync(fd, view, at, Math.min(1 << 30, size - at), at);
      if (n === 0) return undefined;
      at += n;
    }
  } finally {
    closeSync(fd);
  }
  const bytes = Buffer.from(ab);
  if (bytes.length < 12 || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const headerLength = bytes.readUInt32LE(MAGIC.length);
  const sk = JSON.parse(bytes.toString('utf8', MAGIC.length + 4, MAGIC.length + 4 + headerLength)) as Skeleton;
  if (sk.version !== CACHE_FORMAT_VERSION) return undefined;
  const base = Math.ceil((MAGIC.length + 4 + headerLength) / 8) * 8;
  const arr = (r: Ref): Typed => {
    const d = sk.arrays[r.$a];
    return new CTORS[d.dtype](ab, base + d.offset, d.length);
  };
  const arena = (r: ArenaRef) => StringArena.from(arr(r.bytes) as Uint8Array, arr(r.offsets) as Int32Array);

  const columns = new Map<string, AttributeColumn>();
  for (const c of sk.customers.columns) {
    const field = model.attributes.get(c.name);
    if (!field) return undefined;
    if (c.kind === 'string') columns.set(c.name, { kind: 'string', field, values: arena(c.values as ArenaRef) });
    else if (c.kind === 'list') columns.set(c.name, { kind: 'list', field, values: c.values as (unknown[] | null)[] });
    else if (c.kind === 'number') columns.set(c.name, { kind: 'number', field, values: arr(c.values as Ref) as Float64Array });
    else columns.set(c.name, { kind: 'bool', field, values: arr(c.values as Ref) as Int8Array });
  }
  const tables: EventTable[] = [];
  for (const [id, t] of sk.tables.entries()) {
    const def = model.events.get(t.name);
    if (!def) return undefined;
    const props = new Map<string, PropColumn>();
    for (const p of t.props) {
      const name = p.name as string;
      const field = def.props.get(name);
      if (!field) return undefined;
      switch (p.kind) {
        case 'number':
          props.set(name, { kind: 'number', field, values: arr(p.values as Ref) as Float64Array });
          break;
        case 'bool':
          props.set(name, { kind: 'bool', field, values: arr(p.values as Ref) as Int8Array });
          break;
        case 'string':
          props.set(name, { kind: 'string', field, codes: arr(p.codes as Ref) as Int32Array });
          break;
        default:
          props.set(name, {
            kind: 'list',
            field,
            element: p.element as 'string' | 'number' | 'bool',
            offsets: arr(p.offsets as Ref) as Int32Array,
            items: arr(p.items as Ref) as Int32Array | Float64Array,
            present: arr(p.present as Ref) as Uint8Array,
          });
      }
    }
    tables.push({
      name: t.name,
      id,
      def,
      count: t.count,
      offsets: arr(t.offsets) as Int32Array,
      ts: arr(t.ts) as Float64Array,
      seq: arr(t.seq) as Int32Array,
      props,
    });
  }
  const customers = { count: sk.customers.count, ids: new ByteStringPool(arena(sk.customers.ids)), columns };
  const dataset = new Dataset(model, customers, tables, new ByteStringPool(arena(sk.strings)), sk.products);
  return { dataset, meta: sk.meta };
}
