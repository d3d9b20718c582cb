// Customer-local wall-clock arithmetic (quiet hours, `wait: { until }`), DST-safe through luxon.
import { DateTime } from 'luxon';

export function minuteOfDay(at: number, zone: string): number {
  const t = DateTime.fromMillis(at, { zone });
  return t.hour * 60 + t.minute;
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
