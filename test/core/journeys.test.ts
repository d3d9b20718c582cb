// Scenario tables over the example project's journeys: events at offsets, receipts, the clock moved,
// and the sends, suppressions and exits that must follow.
import path from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadProject } from '../../src/config/build-project.js';
import type { Project } from '../../src/config/model.js';
import { eventReaches, isHeldOut } from '../../src/core/journey-step.js';
import { DAY, HOUR, Scenario } from '../support/scenario.js';
import { REPO_ROOT } from '../support/run-cli.js';

// Monday 2 March 2026, 10:00 UTC = 11:00 in Berlin: outside quiet hours.
const T0 = Date.parse('2026-03-02T10:00:00Z');
const MIN = 60_000;

let project: Project;

function customer(journey: string, n = 0): string {
  // The journeys have holdouts; scenario customers are taken from the treated group.
  let found = 0;
  for (let i = 0; ; i++) {
    const id = `c${i}`;
    if (!isHeldOut(project.journeys.get(journey)!, id) && found++ === n) return id;
  }
}

const EVERYTHING = {
  email: 'anna@example.com',
  phone: '+4915100000001',
  first_name: 'Anna',
  timezone: 'Europe/Berlin',
  email_opt_in: true,
  sms_opt_in: true,
  push_opt_in: true,
  push_endpoint: 'https://push.example/ep/1',
};

beforeAll(() => {
  const result = loadProject([path.join(REPO_ROOT, 'campaigns')], { cwd: REPO_ROOT });
  expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  project = result.project!;
});

describe('welcome chain', () => {
  it('registered → email; not opened within 2 days → reminder; then exits', () => {
    const s = new Scenario(project, 'welcome', EVERYTHING, { customerId: customer('welcome') });
    s.enter(T0, { type: 'signup', props: {} });
    expect(s.sends().map((m) => m.template)).toEqual(['welcome']);
    s.advanceTo(T0 + 2 * DAY - MIN);
    expect(s.sends()).toHaveLength(1);
    s.advanceTo(T0 + 2 * DAY);
    expect(s.sends().map((m) => [m.template, m.at])).toEqual([
      ['welcome', T0],
      ['welcome-reminder', T0 + 2 * DAY],
    ]);
    expect(s.state.status).toBe('exited');
  });

  it('opened but no purchase → third email 3 days after the open', () => {
    const s = new Scenario(project, 'welcome', EVERYTHING, { customerId: customer('welcome') });
    s.enter(T0, { type: 'signup', props: {} });
    const hello = s.lastSend('email').messageId;
    s.receipt(T0 + MIN, hello, 'delivered');
    s.receipt(T0 + 5 * HOUR, hello, 'opened');
    s.advanceTo(T0 + 5 * HOUR + 3 * DAY);
    expect(s.sends().map((m) => [m.template, m.at])).toEqual([
      ['welcome', T0],
      ['welcome-nudge', T0 + 5 * HOUR + 3 * DAY],
    ]);
    expect(s.state.status).toBe('completed');
  });

  it('opened and bought: the goal ends the journey, no third email', () => {
    const s = new Scenario(project, 'welcome', EVERYTHING, { customerId: customer('welcome') });
    s.enter(T0, { type: 'signup', props: {} });
    s.receipt(T0 + HOUR, s.lastSend().messageId, 'opened');
    s.event(T0 + DAY, 'purchase', { order_id: 'o1', amount: 40, product_ids: ['P0001'] });
    s.advanceTo(T0 + 10 * DAY);
    expect(s.sends().map((m) => m.template)).toEqual(['welcome']);
    expect(s.state.status).toBe('converted');
    expect(s.effects.filter((e) => e.kind === 'goal')).toHaveLength(1);
  });

  it('receipts repeated and out of order count once and never move a status back', () => {
    const s = new Scenario(project, 'welcome', EVERYTHING, { customerId: customer('welcome') });
    s.enter(T0, { type: 'signup', props: {} });
    const id = s.lastSend().messageId;
    s.receipt(T0 + HOUR, id, 'opened');
    s.receipt(T0 + HOUR + 1, id, 'delivered');
    s.receipt(T0 + HOUR + 2, id, 'opened');
    expect(s.state.messages[id].status).toBe('opened');
    expect(s.effects.filter((e) => e.kind === 'step' && e.step === 'opened')).toHaveLength(1);
  });

  it('a held-out customer enters nothing and is counted', () => {
    const welcome = project.journeys.get('welcome')!;
    let id = '';
    for (let i = 0; !id; i++) if (isHeldOut(welcome, `c${i}`)) id = `c${i}`;
    const s = new Scenario(project, 'welcome', EVERYTHING, { customerId: id });
    s.enter(T0, { type: 'signup', props: {} });
    expect(s.sends()).toEqual([]);
    expect(s.state.status).toBe('held_out');
  });

  it('holdout share is close to the declared 10% over many customers', () => {
    const welcome = project.journeys.get('welcome')!;
    let held = 0;
    for (let i = 0; i < 20_000; i++) if (isHeldOut(welcome, `customer-${i}`)) held++;
    expect(held / 20_000).toBeGreaterThan(0.09);
    expect(held / 20_000).toBeLessThan(0.11);
  });
});

describe('push → email → SMS cascade (winback-offer)', () => {
  const start = (profile = EVERYTHING) => {
    const s = new Scenario(project, 'lapsed-loyal-winback', profile, { customerId: customer('lapsed-loyal-winback') });
    s.enter(T0);
    return s;
  };

  it('stops on delivery of the push: no email, no SMS', () => {
    const s = start();
    expect(s.sends().map((m) => m.channel)).toEqual(['push']);
    s.receipt(T0 + 5000, s.lastSend('push').messageId, 'delivered');
    s.advanceTo(T0 + 5 * DAY);
    expect(s.sends().map((m) => m.channel)).toEqual(['push']);
    expect(s.effects).toContainEqual(expect.objectContaining({ kind: 'cascade_stop', why: 'success' }));
  });

  it('push not delivered within 1h → email; email not opened within 24h → SMS', () => {
    const s = start();
    s.advanceTo(T0 + HOUR);
    expect(s.sends().map((m) => [m.channel, m.at])).toEqual([
      ['push', T0],
      ['email', T0 + HOUR],
    ]);
    s.receipt(T0 + HOUR + MIN, s.lastSend('email').messageId, 'delivered');
    s.advanceTo(T0 + 25 * HOUR);
    expect(s.sends().map((m) => [m.channel, m.at])).toEqual([
      ['push', T0],
      ['email', T0 + HOUR],
      ['sms', T0 + 25 * HOUR],
    ]);
  });

  it('an opened email ends the cascade before SMS', () => {
    const s = start();
    s.advanceTo(T0 + HOUR);
    s.receipt(T0 + 3 * HOUR, s.lastSend('email').messageId, 'opened');
    s.advanceTo(T0 + 3 * DAY);
    expect(s.sends().map((m) => m.channel)).toEqual(['push', 'email']);
  });

  it('a failed push moves to email at once', () => {
    const s = start();
    s.receipt(T0 + 10_000, s.lastSend('push').messageId, 'failed');
    expect(s.sends().map((m) => [m.channel, m.at])).toEqual([
      ['push', T0],
      ['email', T0 + 10_000],
    ]);
  });

  it('stops on purchase: the goal ends it before SMS', () => {
    const s = start();
    s.advanceTo(T0 + HOUR);
    s.event(T0 + 5 * HOUR, 'purchase', { order_id: 'o1', amount: 80, product_ids: ['P0003'] });
    s.advanceTo(T0 + 5 * DAY);
    expect(s.sends().map((m) => m.channel)).toEqual(['push', 'email']);
    expect(s.state.status).toBe('converted');
  });

  it('falls through at once on missing push consent and missing email address', () => {
    const s = start({ ...EVERYTHING, push_opt_in: false, email: '' });
    expect(s.sends().map((m) => [m.channel, m.at])).toEqual([['sms', T0]]);
    const reasons = s.effects.flatMap((e) => (e.kind === 'suppress' ? [[e.channel, e.reason]] : []));
    expect(reasons).toEqual([
      ['push', 'no_consent'],
      ['email', 'no_address'],
    ]);
  });

  it('never sends SMS after a delivered push, whatever receipts and goals follow (property)', () => {
    const receipt = fc.record({
      offset: fc.integer({ min: 1, max: 60 * HOUR }),
      which: fc.constantFrom('push', 'email', 'sms'),
      status: fc.constantFrom('delivered', 'opened', 'clicked', 'failed') as fc.Arbitrary<'delivered' | 'opened' | 'clicked' | 'failed'>,
    });
    fc.assert(
      fc.property(fc.array(receipt, { maxLength: 8 }), fc.option(fc.integer({ min: 1, max: 60 * HOUR })), (receipts, goalAt) => {
        const s = start();
        const timeline = [...receipts.map((r) => ({ ...r, kind: 'receipt' as const })), ...(goalAt === null ? [] : [{ offset: goalAt, kind: 'goal' as const }])].sort(
          (a, b) => a.offset - b.offset,
        );
        for (const item of timeline) {
          if (item.kind === 'goal') {
            s.event(T0 + item.offset, 'purchase', { order_id: 'o', amount: 1, product_ids: [] });
            continue;
          }
          const target = s.sends().find((m) => m.channel === item.which);
          if (target) s.receipt(T0 + item.offset, target.messageId, item.status);
          else s.advanceTo(T0 + item.offset);
        }
        s.advanceTo(T0 + 5 * DAY);
        // The first receipt for the push decides: failure is final, a delivery within the hour stops it.
        const firstPush = timeline.find((t) => t.kind === 'receipt' && t.which === 'push');
        const pushDelivered = firstPush?.kind === 'receipt' && firstPush.status !== 'failed' && firstPush.offset < HOUR;
        const sms = s.sends().filter((m) => m.channel === 'sms');
        if (pushDelivered) expect(sms).toEqual([]);
        // and no paid step ever follows a goal
        if (goalAt !== null) expect(sms.every((m) => m.at < T0 + goalAt)).toBe(true);
      }),
      { numRuns: 300, seed: 42 },
    );
  });
});

describe('which events reach a run (eventReaches)', () => {
  // The engine offers a run only the events eventReaches lets through; every other event must leave the run
  // exactly as it was, with nothing emitted, or the engine would miss a step the plan makes.
  it('an event it turns away leaves every journey’s run unchanged, with no effects (property)', () => {
    const types = [...project.model.events.keys()];
    const journeys = [...project.journeys.keys()];
    let reached = 0;
    let turnedAway = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(...journeys),
        fc.array(fc.record({ offset: fc.integer({ min: 1, max: 20 * DAY }), type: fc.constantFrom(...types), amount: fc.integer({ min: 1, max: 500 }) }), { minLength: 1, maxLength: 12 }),
        (name, events) => {
          const journey = project.journeys.get(name)!;
          const s = new Scenario(project, name, EVERYTHING, { customerId: customer(name) });
          s.enter(T0, journey.entry.kind === 'event' ? { type: journey.entry.event, props: {} } : undefined);
          for (const e of [...events].sort((a, b) => a.offset - b.offset)) {
            const at = T0 + e.offset;
            s.advanceTo(at);
            const before = structuredClone(s.state);
            const reaches = eventReaches(s.state, journey, e.type, at);
            const effects = s.event(at, e.type, { amount: e.amount, order_id: 'o1', product_id: 'P0001', product_ids: ['P0001'], price: 5 });
            if (reaches) reached++;
            else {
              turnedAway++;
              expect(effects).toEqual([]);
              expect(s.state).toEqual(before);
            }
          }
        },
      ),
      { numRuns: 300, seed: 7 },
    );
    // Both sides were exercised: goals and waits reached, other events turned away.
    expect(reached).toBeGreaterThan(50);
    expect(turnedAway).toBeGreaterThan(50);
  });

  it('the goal event reaches an active run and a completed one inside the goal window, not after it', () => {
    const welcome = project.journeys.get('welcome')!;
    const s = new Scenario(project, 'welcome', EVERYTHING, { customerId: customer('welcome') });
    s.enter(T0, { type: 'signup', props: {} });
    expect(eventReaches(s.state, welcome, 'purchase', T0 + HOUR)).toBe(true);
    expect(eventReaches(s.state, welcome, 'product_view', T0 + HOUR)).toBe(false);
    s.advanceTo(T0 + 30 * DAY);
    expect(s.state.status).not.toBe('active');
    expect(eventReaches(s.state, welcome, 'purchase', T0 + 30 * DAY)).toBe(false);
  });
});
