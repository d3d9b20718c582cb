// Customer-local wall-clock arithmetic (quiet hours, `wait: { until }`), DST-safe through luxon.
import { DateTime } from 'luxon';

// UTC offsets only change at instants that are whole multiples of 15 minutes (every zone's offset and
// every transition time is), so the offset is cached per zone and quarter hour. A pure memo: the same
// answers as asking luxon each time, without building a DateTime per send check.
const QUARTER = 900_000;
const offsetCache = new Map<string, number>();

function offsetMinutes(at: number, zone: string): number {
  const key = `${zone}\u0000${Math.floor(at / QUARTER)}`;
  let offset = offsetCache.get(key);
  if (offset === undefined) {
    offset = DateTime.fromMillis(at, { zone }).offset;
    if (offsetCache.size > 200_000) offsetCache.clear();
    offsetCache.set(key, offset);
  }
  return offset;
}

export function minuteOfDay(at: number, zone: string): number {
  const local = Math.floor(at / 60_000) + offsetMinutes(at, zone);
  return ((local % 1440) + 1440) % 1440;
}

/** The next instant strictly after `at` whose local time is hh:mm in `zone` (moved forward out of DST gaps). */
export function nextLocalTime(at: number, zone: string, hour: number, minute: number): number {
  const local = DateTime.fromMillis(at, { zone });
  let candidate = local.set({ hour, minute, second: 0, millisecond: 0 });
  if (candidate.toMillis() <= at) candidate = candidate.plus({ days: 1 }).set({ hour, minute, second: 0, millisecond: 0 });
  return candidate.toMillis();
}

/** Whether local time at `at` falls in [from, to) minutes of the day; the window may wrap midnight. */
export function inWindow(at: number, zone: string, fromMinute: number, toMinute: number): boolean {
  const m = minuteOfDay(at, zone);
  if (fromMinute === toMinute) return false;
  return fromMinute < toMinute ? m >= fromMinute && m < toMinute : m >= fromMinute || m < toMinute;
}

export function isValidZone(zone: unknown): zone is string {
  return typeof zone === 'string' && zone.length > 0 && DateTime.local().setZone(zone).isValid;
}
