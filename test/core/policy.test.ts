// Caps, quiet hours and budgets: properties over random send attempts, several time zones and a DST change.
import path from 'node:path';
import fc from 'fast-check';
import { DateTime } from 'luxon';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadProject } from '../../src/config/build-project.js';
import type { ChannelDef, PolicyDef, Project } from '../../src/config/model.js';
import { inWindow, minuteOfDay, nextLocalTime } from '../../src/core/local-time.js';
import { checkSend, type LedgerView } from '../../src/core/policy-gate.js';
import { REPO_ROOT } from '../support/run-cli.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ZONES = ['Europe/Berlin', 'Europe/London', 'America/New_York', 'Asia/Tokyo', 'Australia/Sydney', 'UTC'];

let project: Project;
let policy: PolicyDef;
let email: ChannelDef;
let sms: ChannelDef;
let push: ChannelDef;

beforeAll(() => {
  project = loadProject([path.join(REPO_ROOT, 'campaigns')], { cwd: REPO_ROOT }).project!;
  policy = project.policies.get('default')!;
  email = project.channels.get('email')!;
  sms = project.channels.get('sms')!;
  push = project.channels.get('push')!;
});

const profile = { email: 'a@example.com', phone: '+4915100000001', push_endpoint: 'x', email_opt_in: true, sms_opt_in: true, push_opt_in: true };

function memoryLedger() {
  const sends: { at: number; channel: string; cost: number }[] = [];
  const ledger: LedgerView = {
    sendTimes: (channels, from, to) => sends.filter((s) => channels.includes(s.channel) && s.at > from && s.at <= to).map((s) => s.at),
    spend: (channel, from, to) => sends.filter((s) => s.channel === channel && s.at > from && s.at <= to).reduce((a, s) => a + s.cost, 0),
  };
  return { sends, ledger };
}

describe('quiet hours (21:00–09:00 local, defer)', () => {
  it('defers a 22:30 Berlin send to 09:00 Berlin the next morning', () => {
    const at = Date.parse('2026-06-10T20:30:00Z'); // 22:30 CEST
    const d = checkSend({ at, channel: email, class: 'marketing', policy, profile, timezone: 'Europe/Berlin', ledger: memoryLedger().ledger, cost: 0, inCascade: false });
    expect(d).toEqual({ kind: 'defer', reason: 'quiet_hours', until: Date.parse('2026-06-11T07:00:00Z') });
  });

  it('the same instant is daytime in New York and is allowed there', () => {
    const at = Date.parse('2026-06-10T20:30:00Z'); // 16:30 EDT
    const d = checkSend({ at, channel: email, class: 'marketing', policy, profile, timezone: 'America/New_York', ledger: memoryLedger().ledger, cost: 0, inCascade: false });
    expect(d.kind).toBe('allow');
  });

  it('the cached local minute of day equals luxon everywhere, half- and quarter-hour zones and DST included (property)', () => {
    const zones = [...ZONES, 'America/St_Johns', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'Asia/Kolkata', 'Pacific/Chatham'];
    fc.assert(
      fc.property(fc.integer({ min: Date.parse('2025-01-01T00:00:00Z'), max: Date.parse('2027-12-31T00:00:00Z') }), fc.constantFrom(...zones), (at, zone) => {
        const t = DateTime.fromMillis(at, { zone });
        expect(minuteOfDay(at, zone)).toBe(t.hour * 60 + t.minute);
      }),
      { numRuns: 3000, seed: 5 },
    );
    // Minute by minute across transitions that are not on a whole UTC hour.
    for (const [zone, iso] of [
      ['America/St_Johns', '2026-03-08T05:30:00Z'],
      ['Australia/Lord_Howe', '2026-04-04T15:00:00Z'],
      ['Europe/Berlin', '2026-10-25T01:00:00Z'],
    ] as const) {
      for (let m = -90; m <= 90; m++) {
        const at = Date.parse(iso) + m * 60_000 + 17_000;
        const t = DateTime.fromMillis(at, { zone });
        expect(minuteOfDay(at, zone), `${zone} ${new Date(at).toISOString()}`).toBe(t.hour * 60 + t.minute);
      }
    }
  });

  it('across the spring-forward night, 09:00 local is one hour earlier in UTC', () => {
    // Europe/Berlin switches to CEST on 29 March 2026 at 02:00.
    const before = nextLocalTime(Date.parse('2026-03-28T22:00:00Z'), 'Europe/Berlin', 9, 0);
    expect(new Date(before).toISOString()).toBe('2026-03-29T07:00:00.000Z');
    const winter = nextLocalTime(Date.parse('2026-03-27T22:00:00Z'), 'Europe/Berlin', 9, 0);
    expect(new Date(winter).toISOString()).toBe('2026-03-28T08:00:00.000Z');
  });

  it('the memoised next local time equals asking luxon each time, in gaps and folds too (property)', () => {
    const luxonNext = (at: number, zone: string, hour: number, minute: number): number => {
      let c = DateTime.fromMillis(at, { zone }).set({ hour, minute, second: 0, millisecond: 0 });
      if (c.toMillis() <= at) c = c.plus({ days: 1 }).set({ hour, minute, second: 0, millisecond: 0 });
      return c.toMillis();
    };
    const zones = [...ZONES, 'America/St_Johns', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'Pacific/Chatham'];
    const times = fc.constantFrom([9, 0], [2, 30], [1, 30], [0, 0], [23, 45], [18, 0]);
    fc.assert(
      fc.property(fc.integer({ min: Date.parse('2025-01-01T00:00:00Z'), max: Date.parse('2027-12-31T00:00:00Z') }), fc.constantFrom(...zones), times, (at, zone, [h, m]) => {
        expect(nextLocalTime(at, zone, h, m)).toBe(luxonNext(at, zone, h, m));
      }),
      { numRuns: 3000, seed: 11 },
    );
    // Every 7 minutes through both Berlin transitions of 2026, for times inside the gap and the fold.
    for (const iso of ['2026-03-28T20:00:00Z', '2026-10-24T20:00:00Z']) {
      for (let k = 0; k < 300; k++) {
        const at = Date.parse(iso) + k * 7 * 60_000 + 13_000;
        for (const [h, m] of [[2, 30], [2, 0], [3, 0], [9, 0]]) expect(nextLocalTime(at, 'Europe/Berlin', h, m)).toBe(luxonNext(at, 'Europe/Berlin', h, m));
      }
    }
  });

  it('transactional messages ignore quiet hours; marketing never lands inside them in the customer zone (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.parse('2026-01-01T00:00:00Z'), max: Date.parse('2026-12-31T00:00:00Z') }), fc.constantFrom(...ZONES), (at, zone) => {
        const { ledger } = memoryLedger();
        const d = checkSend({ at, channel: email, class: 'marketing', policy, profile, timezone: zone, ledger, cost: 0, inCascade: false });
        const quiet = inWindow(at, zone, policy.quietHours!.fromMinute, policy.quietHours!.toMinute);
        if (quiet) {
          expect(d.kind).toBe('defer');
          if (d.kind === 'defer') {
            expect(inWindow(d.until, zone, policy.quietHours!.fromMinute, policy.quietHours!.toMinute)).toBe(false);
            expect(d.until).toBeGreaterThan(at);
            expect(d.until - at).toBeLessThanOrEqual(13 * HOUR);
            expect(DateTime.fromMillis(d.until, { zone }).toFormat('HH:mm')).toBe('09:00');
          }
        } else {
          expect(d.kind).toBe('allow');
        }
        const t = checkSend({ at, channel: email, class: 'transactional', policy, profile, timezone: zone, ledger, cost: 0, inCascade: false });
        expect(t.kind).toBe('allow');
      }),
      { numRuns: 500, seed: 7 },
    );
  });
});

describe('frequency caps', () => {
  it('never more than 3 marketing messages in any 7 days, and never more than 1 SMS (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ offset: fc.integer({ min: 0, max: 30 * DAY }), channel: fc.constantFrom('email', 'push', 'sms') }), { maxLength: 60 }),
        (attempts) => {
          const { sends, ledger } = memoryLedger();
          const byName: Record<string, ChannelDef> = { email, sms, push };
          // Daytime in UTC, so quiet hours never interfere with this property.
          const base = Date.parse('2026-05-04T10:00:00Z');
          const timed = attempts.map((a) => ({ ...a, at: base + (a.offset % (10 * HOUR)) + Math.floor(a.offset / DAY) * DAY }));
          for (const a of timed.sort((x, y) => x.at - y.at)) {
            const at = a.at;
            const d = checkSend({ at, channel: byName[a.channel], class: 'marketing', policy, profile, timezone: 'UTC', ledger, cost: 0.06, inCascade: false });
            if (d.kind === 'allow') sends.push({ at, channel: a.channel, cost: 0.06 });
          }
          for (const s of sends) {
            const window = sends.filter((x) => x.at > s.at - 7 * DAY && x.at <= s.at);
            expect(window.length).toBeLessThanOrEqual(3);
            expect(window.filter((x) => x.channel === 'sms').length).toBeLessThanOrEqual(1);
          }
        },
      ),
      { numRuns: 300, seed: 11 },
    );
  });

  it('transactional sends bypass caps but still need an address', () => {
    const { sends, ledger } = memoryLedger();
    const at = Date.parse('2026-05-04T10:00:00Z');
    for (let i = 0; i < 3; i++) sends.push({ at: at - i * HOUR - 1, channel: 'email', cost: 0 });
    expect(checkSend({ at, channel: email, class: 'marketing', policy, profile, timezone: 'UTC', ledger, cost: 0, inCascade: false })).toEqual({ kind: 'suppress', reason: 'frequency_cap' });
    expect(checkSend({ at, channel: email, class: 'transactional', policy, profile, timezone: 'UTC', ledger, cost: 0, inCascade: false }).kind).toBe('allow');
    expect(checkSend({ at, channel: email, class: 'transactional', policy, profile: { ...profile, email: null }, timezone: 'UTC', ledger, cost: 0, inCascade: false })).toEqual({
      kind: 'suppress',
      reason: 'no_address',
    });
  });

  it('consent is checked before caps and quiet hours (precedence)', () => {
    const at = Date.parse('2026-06-10T20:30:00Z'); // quiet in Berlin
    const d = checkSend({ at, channel: sms, class: 'marketing', policy, profile: { ...profile, sms_opt_in: false }, timezone: 'Europe/Berlin', ledger: memoryLedger().ledger, cost: 0.06, inCascade: false });
    expect(d).toEqual({ kind: 'suppress', reason: 'no_consent' });
  });
});

describe('budgets', () => {
  it('SMS spend never exceeds 25 EUR in any day (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 3 * DAY }), { minLength: 1, maxLength: 800 }), fc.integer({ min: 1, max: 4 }), (offsets, segments) => {
        const { sends, ledger } = memoryLedger();
        const base = Date.parse('2026-05-04T00:00:00Z');
        const cost = segments * 0.06;
        for (const off of offsets.sort((a, b) => a - b)) {
          const at = base + off;
          // Many customers share one budget: per-customer caps do not apply here (each attempt is someone new).
          const d = checkSend({ at, channel: sms, class: 'service', policy, profile, timezone: 'UTC', ledger, cost, inCascade: false });
          if (d.kind === 'allow') sends.push({ at, channel: 'sms', cost });
          else if (d.kind === 'suppress') expect(['budget', 'quiet_hours']).toContain(d.reason);
        }
        for (const s of sends) {
          const spent = sends.filter((x) => x.at > s.at - DAY && x.at <= s.at).reduce((a, x) => a + x.cost, 0);
          expect(spent).toBeLessThanOrEqual(25 + 1e-9);
        }
      }),
      { numRuns: 200, seed: 3 },
    );
  });
});
