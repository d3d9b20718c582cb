// The zone offset memo (per quarter hour, filled per six-hour block from the offsets at block starts)
// must answer what luxon answers at every instant, across DST transitions of all shapes.
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { minuteOfDay, nextLocalTime } from '../../src/core/local-time.js';

const ZONES = ['Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'America/Sao_Paulo', 'Pacific/Chatham', 'UTC'];

describe('local time', () => {
  it('minuteOfDay equals luxon at random instants and around every transition, 2023–2025', () => {
    let s = 9;
    const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const from = Date.UTC(2023, 0, 1);
    const to = Date.UTC(2026, 0, 1);
    for (const zone of ZONES) {
      const instants: number[] = [];
      for (let k = 0; k < 3000; k++) instants.push(from + Math.floor(rnd() * (to - from)));
      // Every minute of the day around each offset change of the zone.
      for (let t = from; t < to; t += 4 * 3_600_000) {
        const a = DateTime.fromMillis(t, { zone }).offset;
        const b = DateTime.fromMillis(t + 4 * 3_600_000, { zone }).offset;
        if (a !== b) for (let m = -30; m <= 270; m++) instants.push(t + m * 60_000 + Math.floor(rnd() * 60_000));
      }
      for (const at of instants) {
        const local = DateTime.fromMillis(at, { zone });
        expect([zone, at, minuteOfDay(at, zone)]).toEqual([zone, at, local.hour * 60 + local.minute]);
      }
    }
  });

  it('nextLocalTime lands on the wall-clock time asked for, strictly after the instant', () => {
    let s = 5;
    const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (const zone of ZONES) {
      for (let k = 0; k < 500; k++) {
        const at = Date.UTC(2024, 0, 1) + Math.floor(rnd() * 366 * 86_400_000);
        const next = nextLocalTime(at, zone, 10, 0);
        expect(next).toBeGreaterThan(at);
        expect(next - at).toBeLessThanOrEqual(26 * 3_600_000);
        const local = DateTime.fromMillis(next, { zone });
        // 10:00 exists in every one of these zones on every day (no transition at 10:00).
        expect([zone, local.hour, local.minute]).toEqual([zone, 10, 0]);
      }
    }
  });
});
