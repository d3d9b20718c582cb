// Customer-local wall-clock arithmetic (quiet hours, `wait: { until }`), DST-safe through luxon.
import { DateTime, Info, type Zone } from 'luxon';

// UTC offsets only change at instants that are whole multiples of 15 minutes (every zone's offset and
// every transition time is), so the offset is cached per zone and quarter hour. A pure memo: the same
// answers as asking luxon each time, without building a DateTime per send check.
const QUARTER = 900_000;
const DAY = 86_400_000;
const CACHE_LIMIT = 200_000;
/** Quarters in a block whose offsets are taken from its two ends (six hours, see offsetMinutes). */
const BLOCK = 24;

interface ZoneCache {
  zone: Zone;
  /** Offset in minutes by quarter-hour index. */
  offsets: Map<number, number>;
  /** nextLocalTime's two candidates by "hh:mm local-day offset" (see there). */
  next: Map<string, [number, number]>;
  /** Offset in minutes at the first instant of a block, by its first quarter-hour index. */
  edges: Map<number, number>;
}

const zones = new Map<string, ZoneCache>();
const validZones = new Map<string, boolean>();

function cacheOf(zone: string): ZoneCache {
  let c = zones.get(zone);
  if (c === undefined) {
    if (zones.size > 1_000) zones.clear();
    c = { zone: Info.normalizeZone(zone), offsets: new Map(), next: new Map(), edges: new Map() };
    zones.set(zone, c);
  }
  return c;
}

function offsetMinutes(at: number, zone: string): number {
  const c = cacheOf(zone);
  const quarter = Math.floor(at / QUARTER);
  let offset = c.offsets.get(quarter);
  if (offset === undefined) {
    // What DateTime.fromMillis(at, { zone }).offset answers, without building the DateTime. A zone changes
    // its offset at most once within any six hours (transitions are days to months apart), so when the
    // offsets at the start of the six-hour block and of the next one agree, every quarter of the block has
    // that offset too. Each block start serves two blocks: half the zone lookups.
    if (c.offsets.size > CACHE_LIMIT) c.offsets.clear();
    const first = quarter - (((quarter % BLOCK) + BLOCK) % BLOCK);
    const start = blockStartOffset(c, first);
    const end = blockStartOffset(c, first + BLOCK);
    if (start === end) {
      for (let q = first; q < first + BLOCK; q++) c.offsets.set(q, start);
      offset = start;
    } else {
      offset = c.zone.offset(at);
      c.offsets.set(quarter, offset);
    }
  }
  return offset;
}

function blockStartOffset(c: ZoneCache, quarter: number): number {
  let offset = c.edges.get(quarter);
  if (offset === undefined) {
    if (c.edges.size > CACHE_LIMIT) c.edges.clear();
    offset = c.zone.offset(quarter * QUARTER);
    c.edges.set(quarter, offset);
  }
  return offset;
}

export function minuteOfDay(at: number, zone: string): number {
  const local = Math.floor(at / 60_000) + offsetMinutes(at, zone);
  return ((local % 1440) + 1440) % 1440;
}

/** The next instant strictly after `at` whose local time is hh:mm in `zone` (moved forward out of DST gaps). */
export function nextLocalTime(at: number, zone: string, hour: number, minute: number): number {
  // luxon's set() depends on the local date, the offset at `at` (its guess in a fold) and the zone only,
  // and the next day's candidate on the first one: both are memoised under exactly those.
  const c = cacheOf(zone);
  const offset = offsetMinutes(at, zone);
  const key = `${hour}:${minute} ${Math.floor((at + offset * 60_000) / DAY)} ${offset}`;
  let candidates = c.next.get(key);
  if (candidates === undefined) {
    const first = DateTime.fromMillis(at, { zone }).set({ hour, minute, second: 0, millisecond: 0 });
    const second = first.plus({ days: 1 }).set({ hour, minute, second: 0, millisecond: 0 });
    candidates = [first.toMillis(), second.toMillis()];
    if (c.next.size > CACHE_LIMIT) c.next.clear();
    c.next.set(key, candidates);
  }
  return candidates[0] <= at ? candidates[1] : candidates[0];
}

/** Whether local time at `at` falls in [from, to) minutes of the day; the window may wrap midnight. */
export function inWindow(at: number, zone: string, fromMinute: number, toMinute: number): boolean {
  const m = minuteOfDay(at, zone);
  if (fromMinute === toMinute) return false;
  return fromMinute < toMinute ? m >= fromMinute && m < toMinute : m >= fromMinute || m < toMinute;
}

export function isValidZone(zone: unknown): zone is string {
  if (typeof zone !== 'string' || zone.length === 0) return false;
  let valid = validZones.get(zone);
  if (valid === undefined) {
    valid = DateTime.local().setZone(zone).isValid;
    if (validZones.size > 10_000) validZones.clear();
    validZones.set(zone, valid);
  }
  return valid;
}
