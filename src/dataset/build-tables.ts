// Turns the per-type builders (rows in file order) into CSR tables (rows grouped per customer, time order
// within a customer). One counting sort by customer per type: O(rows), stable, so a time-sorted file stays
// time-sorted within each customer. Columns are permuted one at a time so peak memory is one extra column.
import { PropKind, type EventTypeBuilder } from './event-builder.js';
import type { EventTable, PropColumn } from './dataset.js';

function permuteF64(src: Float64Array, perm: Int32Array): Float64Array {
  const out = new Float64Array(src.length);
  for (let r = 0; r < perm.length; r++) out[perm[r]] = src[r];
  return out;
}

function permuteI32(src: Int32Array, perm: Int32Array): Int32Array {
  const out = new Int32Array(src.length);
  for (let r = 0; r < perm.length; r++) out[perm[r]] = src[r];
  return out;
}

function permuteI8(src: Int8Array, perm: Int32Array): Int8Array {
  const out = new Int8Array(src.length);
  for (let r = 0; r < perm.length; r++) out[perm[r]] = src[r];
  return out;
}

function permuteU8(src: Uint8Array, perm: Int32Array): Uint8Array {
  const out = new Uint8Array(src.length);
  for (let r = 0; r < perm.length; r++) out[perm[r]] = src[r];
  return out;
}

/**
 * Builds the table of one event type. `newSeq`, when given, maps file sequence → time-order sequence (the
 * file was not sorted); rows are then visited in time order so each customer's rows end up sorted.
 */
export function buildEventTable(b: EventTypeBuilder, customerCount: number, newSeq?: Int32Array): EventTable {
  const n = b.count;
  const cust = b.cust.finish();
  let seq = b.seq.finish();
  if (newSeq) for (let r = 0; r < n; r++) seq[r] = newSeq[seq[r]];
  const offsets = new Int32Array(customerCount + 1);
  for (let r = 0; r < n; r++) offsets[cust[r] + 1]++;
  for (let i = 0; i < customerCount; i++) offsets[i + 1] += offsets[i];
  const cursor = offsets.slice(0, customerCount);
  const perm = new Int32Array(n);
  if (newSeq) {
    // Visit rows in time order: sort row indices by their (unique) new sequence numbers.
    const order = Int32Array.from({ length: n }, (_, r) => r).sort((x, y) => seq[x] - seq[y]);
    for (let k = 0; k < n; k++) {
      const r = order[k];
      perm[r] = cursor[cust[r]]++;
    }
  } else {
    for (let r = 0; r < n; r++) perm[r] = cursor[cust[r]]++;
  }
  const ts = permuteF64(b.ts.finish(), perm);
  seq = permuteI32(seq, perm);
  const props = new Map<string, PropColumn>();
  for (const slot of b.slots) {
    const field = slot.field;
    switch (slot.kind) {
      case PropKind.Number:
      case PropKind.Timestamp:
      case PropKind.Duration:
        props.set(field.name, { kind: 'number', field, values: permuteF64(slot.num!.finish(), perm) });
        break;
      case PropKind.String:
        props.set(field.name, { kind: 'string', field, codes: permuteI32(slot.code!.finish(), perm) });
        break;
      case PropKind.Bool:
        props.set(field.name, { kind: 'bool', field, values: permuteI8(slot.bool!.finish(), perm) });
        break;
      default: {
        const srcOff = slot.listOffsets!.finish();
        const present = permuteU8(slot.listPresent!.finish(), perm);
        const lengths = new Int32Array(n + 1);
        for (let r = 0; r < n; r++) lengths[perm[r] + 1] = srcOff[r + 1] - srcOff[r];
        for (let r = 0; r < n; r++) lengths[r + 1] += lengths[r];
        const newOffsets = lengths;
        const element = slot.kind === PropKind.ListString ? 'string' : slot.kind === PropKind.ListBool ? 'bool' : 'number';
        if (slot.listCodes) {
          const src = slot.listCodes.finish();
          const items = new Int32Array(src.length);
          for (let r = 0; r < n; r++) items.set(src.subarray(srcOff[r], srcOff[r + 1]), newOffsets[perm[r]]);
          props.set(field.name, { kind: 'list', field, element, offsets: newOffsets, items, present });
        } else {
          const src = slot.listNums!.finish();
          const items = new Float64Array(src.length);
          for (let r = 0; r < n; r++) items.set(src.subarray(srcOff[r], srcOff[r + 1]), newOffsets[perm[r]]);
          props.set(field.name, { kind: 'list', field, element, offsets: newOffsets, items, present });
        }
      }
    }
  }
  return { name: b.def.name, id: b.id, def: b.def, count: n, offsets, ts, seq, props };
}

/**
 * For an unsorted file: the time-order rank of every accepted event (stable: ties keep file order).
 * `tsBySeq[s]` is the timestamp of the s-th accepted row.
 */
export function timeOrderRanks(tsBySeq: Float64Array): Int32Array {
  const n = tsBySeq.length;
  const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => tsBySeq[a] - tsBySeq[b] || a - b);
  const rank = new Int32Array(n);
  for (let k = 0; k < n; k++) rank[order[k]] = k;
  return rank;
}
