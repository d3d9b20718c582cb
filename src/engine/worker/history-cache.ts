// Customers' event histories kept in memory between batches, so that a batch reads from the database only
// the histories that changed since this process last read them. In a stream of sessions most customers of a
// batch were in the batch before, and the history was about half of a batch's read (README, Development).
//
// Kept only what history-needs.ts says the versions in play read, and only with the customer's revision
// (customers.history_rev, migration 007): every statement that inserts events raises the revisions of their
// customers in the same statement (ingest/write-ingest.ts: historyRevisions), on every replica, so a
// revision the batch reads that equals the one kept proves nothing was inserted since. A batch that inserts
// events itself gets the revision after its own raise back from its insert, with the customer's row locked
// until commit, so it expects the kept revision plus one; at 1, the customer never had an event before, and
// its history is the batch's own events. Anything else, or no entry, and the history is read as before; when
// nothing is, the read leaves the history part out (knownHistories).
//
// Entries are kept only after the transaction that read them commits, and are dropped for any other set of
// needs (a version loaded or retired), for an instant earlier than the entry's, and when the process holds
// more than MAX_EVENTS events (least recently used first).
import type { HeldHistory, StoredEvent } from './customer-data.js';
import type { HistoryNeed } from './history-needs.js';

/**
 * About 40 MB of parsed events with props like the sample's (measured). Past it, the least recently used
 * customers go, to be read again when they come back.
 */
export const MAX_EVENTS = 200_000;

export interface KeptHistory {
  /** customers.history_rev when the history was read or last extended. */
  rev: number;
  /** The instant the history is complete for: every event a reader at this instant or later needs is held. */
  at: number;
  /** Ascending by (ts, id), only the types and windows of the needs it was kept for. */
  events: readonly StoredEvent[];
}

export interface HistoryUpdate extends KeptHistory {
  customerId: string;
}

export class HistoryCache {
  private key = '';
  private readonly entries = new Map<string, KeptHistory>();
  private held = 0;

  constructor(private readonly maxEvents = MAX_EVENTS) {}

  /** The entry for `customerId` usable by a batch with these needs (`key`: needsKey) at instant `at`. */
  usable(customerId: string, key: string, at: number): KeptHistory | undefined {
    if (key !== this.key) return undefined;
    const entry = this.entries.get(customerId);
    if (!entry || at < entry.at) return undefined;
    // Least recently used goes first: re-inserting moves the entry to the end of the map's order.
    this.entries.delete(customerId);
    this.entries.set(customerId, entry);
    return entry;
  }

  /** After commit: the histories a batch read or extended. A revision lower than the one held is older news. */
  keep(key: string, updates: readonly HistoryUpdate[]): void {
    if (key !== this.key) this.clear(key);
    for (const u of updates) {
      const before = this.entries.get(u.customerId);
      if (before && before.rev > u.rev) continue;
      if (before) {
        this.held -= before.events.length;
        this.entries.delete(u.customerId);
      }
      this.entries.set(u.customerId, { rev: u.rev, at: u.at, events: u.events });
      this.held += u.events.length;
    }
    for (const [id, entry] of this.entries) {
      if (this.held <= this.maxEvents) break;
      this.entries.delete(id);
      this.held -= entry.events.length;
    }
  }

  /** Events held, for tests and metrics. */
  size(): { customers: number; events: number } {
    return { customers: this.entries.size, events: this.held };
  }

  private clear(key: string): void {
    this.key = key;
    this.entries.clear();
    this.held = 0;
  }
}

/**
 * What a batch knows of its customers' histories before its read (loadBatch's `held`, `own`, `readHistory`):
 * the kept ones still usable, extended with the events the transaction inserted (`inserted`, at ingest:
 * raising each revision by one, to the revisions its insert returned). A customer at revision 1 after that
 * insert never had an event before, so its history is its own events. When every customer's history is held
 * at the revision the insert returned, or its own, the read can leave the history out.
 */
export function knownHistories(
  cache: HistoryCache,
  batch: { key: string; needs: readonly HistoryNeed[]; now: number },
  ids: readonly string[],
  inserted?: { revs: ReadonlyMap<string, number>; events: ReadonlyMap<string, readonly StoredEvent[]> },
): { held: Map<string, HeldHistory>; own?: Map<string, readonly StoredEvent[]>; readHistory: boolean } {
  const { key, now } = batch;
  const needs = needsByType(batch.needs);
  const held = new Map<string, HeldHistory>();
  const own = inserted ? new Map<string, readonly StoredEvent[]>() : undefined;
  for (const id of ids) {
    let added: readonly StoredEvent[] = [];
    if (inserted) {
      // Copies without the offer's customerId, only of the needed types: these are what the cache keeps.
      const mine: StoredEvent[] = [];
      for (const e of inserted.events.get(id) ?? []) if (needs.has(e.type)) mine.push({ id: e.id, type: e.type, ts: e.ts, props: e.props });
      added = extendHistory([], mine, needs, now);
      own!.set(id, added);
    }
    const kept = cache.usable(id, key, now);
    if (kept) held.set(id, { rev: kept.rev + (inserted ? 1 : 0), events: extendHistory(kept.events, added, needs, now) });
  }
  const readHistory = !inserted || ids.some((id) => inserted.revs.get(id) !== 1 && inserted.revs.get(id) !== held.get(id)?.rev);
  return own ? { held, own, readHistory } : { held, readHistory };
}

/** One string per set of needs: entries kept for one set are never used for another. */
export function needsKey(needs: readonly HistoryNeed[]): string {
  return needs.map((n) => `${n.type}\0${n.windowMs}\0${n.recent}`).join('\n');
}

/** Ascending by time, ties by id in code-unit order (the database reads them ORDER BY ts, id COLLATE "C"). */
export function byTime(a: StoredEvent, b: StoredEvent): number {
  return a.ts - b.ts || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** The needs by event type, built once per batch for extendHistory. */
export type NeedsByType = ReadonlyMap<string, HistoryNeed>;

export function needsByType(needs: readonly HistoryNeed[]): NeedsByType {
  return new Map(needs.map((n) => [n.type, n]));
}

/**
 * A kept history (complete at or after its instant) with `added` (events inserted since, of any type) as
 * complete at `at`: the added events of the needed types merged in, and the events no reader at `at` or later
 * needs dropped: per type, those before its window that are not among the newest `recent` (ties with the
 * last one kept, as the database read keeps them). `kept` itself when nothing changes: called for every
 * customer of every batch, so it allocates only when it has to.
 */
export function extendHistory(kept: readonly StoredEvent[], added: readonly StoredEvent[], byType: NeedsByType, at: number): readonly StoredEvent[] {
  let merged: StoredEvent[] | undefined;
  let sorted = true;
  for (const e of added) {
    if (!byType.has(e.type)) continue;
    merged ??= kept.slice();
    if (sorted && merged.length && byTime(merged[merged.length - 1], e) > 0) sorted = false;
    merged.push(e);
  }
  if (merged && !sorted) merged.sort(byTime);
  const list: readonly StoredEvent[] = merged ?? kept;
  // Only events before their type's window can go; in time order, the oldest come first.
  let prunable = false;
  for (const e of list) {
    const need = byType.get(e.type);
    if (!need || (need.windowMs !== Infinity && e.ts <= at - need.windowMs)) {
      prunable = true;
      break;
    }
  }
  if (!prunable) return list;
  // Walking from the newest: per type, how many older-than-window events are kept so far and the last ts kept.
  const older = new Map<string, { n: number; ts: number }>();
  const out: StoredEvent[] = [];
  for (let i = list.length - 1; i >= 0; i--) {
    const e = list[i];
    const need = byType.get(e.type);
    if (!need) continue;
    if (need.windowMs === Infinity || e.ts > at - need.windowMs) {
      out.push(e);
      continue;
    }
    const seen = older.get(e.type) ?? { n: 0, ts: NaN };
    if (seen.n < need.recent || e.ts === seen.ts) {
      older.set(e.type, { n: seen.n + 1, ts: e.ts });
      out.push(e);
    }
  }
  return out.reverse();
}
