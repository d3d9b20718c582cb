// The policy gate again at send time, on both backends: a consent withdrawn between the step and the send
// stops the message without a provider call (and tells the run); quiet hours that began meanwhile defer it
// to their end without using an attempt; caps and budgets count what actually went out in the windows ending
// at the send, not what the ledger reserved at the steps (a message can leave long after its step).
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createProvider, type ChannelProvider } from '../../src/channels/index.js';
import { loadProject } from '../../src/config/build-project.js';
import type { ChannelDef } from '../../src/config/model.js';
import { isHeldOut } from '../../src/core/journey-step.js';
import { manualClock } from '../../src/engine/clock.js';
import { collectConfigFiles } from '../../src/engine/config-files.js';
import { applyConfig } from '../../src/engine/config-versions.js';
import { insertEvents, upsertCustomers } from '../../src/engine/ingest/write-ingest.js';
import type { OpenedStore } from '../../src/engine/store/index.js';
import { processEvents, sendOutbox, storeProjectLoader } from '../../src/engine/worker/index.js';
import { backendNames, rows, useBackend } from './support/backends.js';

const loaded = loadProject([path.resolve('campaigns')]);
if (!loaded.project) throw new Error('campaigns/ does not load');
const project = loaded.project;
const treated = Array.from({ length: 50 }, (_, i) => `g-${i}`).filter((id) => !isHeldOut(project.journeys.get('welcome')!, id));

function logProviders(): { resolve: (c: ChannelDef) => ChannelProvider; file: string } {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'herald-gate-')), 'out.ndjson');
  return { file, resolve: (c) => createProvider({ ...c, provider: { ...c.provider, kind: 'log', path: file, idempotent: true } }, {}) };
}

async function queueWelcome(store: OpenedStore, clock: ReturnType<typeof manualClock>, customer: string) {
  await applyConfig(store, collectConfigFiles(project), { who: 'test', project, clock });
  await upsertCustomers(store.db, [{ id: customer, attributes: { email: `${customer}@example.com`, email_opt_in: true, first_name: 'Ada', timezone: 'Europe/Berlin' } }], clock.now());
  await insertEvents(store.db, [{ customerId: customer, id: 'signup', type: 'signup', ts: clock.now(), props: {} }], clock.now());
  const projects = storeProjectLoader(store);
  expect(await processEvents({ store, projects, clock })).toMatchObject({ sends: 1 });
  return projects;
}

/**
 * A message that went out earlier: its ledger row at the step (`steppedAt`) and an attempt started at
 * `sentAt` with `outcome`. The two differ when a message waited (a backlog, retries, quiet hours).
 */
async function pastSend(
  store: OpenedStore,
  m: { customer: string; id: string; channel: string; template: string; cost: number; steppedAt: number; sentAt: number; outcome: 'sent' | 'ambiguous' | 'failed_permanent' },
): Promise<void> {
  const version = (await rows<{ version: string }>(store, `SELECT version FROM activations WHERE active`))[0].version;
  await store.db.raw(
    `INSERT INTO outbox (customer_id, id, journey, step, channel, template, class, config_version, status, attempts, next_attempt_at, created_at, updated_at)
     VALUES (?, ?, 'earlier', 'send', ?, ?, 'marketing', ?, ?, 1, ?, ?, ?)`,
    [m.customer, m.id, m.channel, m.template, version, m.outcome === 'failed_permanent' ? 'failed' : m.outcome, new Date(m.steppedAt), new Date(m.steppedAt), new Date(m.sentAt)],
  );
  await store.db.raw(`INSERT INTO ledger (customer_id, message_id, channel, class, journey, at, cost) VALUES (?, ?, ?, 'marketing', 'earlier', ?, ?)`, [m.customer, m.id, m.channel, new Date(m.steppedAt), m.cost]);
  await store.db.raw(`INSERT INTO attempts (customer_id, message_id, n, worker, started_at, finished_at, outcome) VALUES (?, ?, 1, 'w0', ?, ?, ?)`, [m.customer, m.id, new Date(m.sentAt), new Date(m.sentAt), m.outcome]);
}

const DAY = 86_400_000;

for (const name of backendNames()) {
  describe(`send-time gate on ${name}`, () => {
    const backend = useBackend(name);

    it('a consent withdrawn after the step stops the send without a provider call and tells the run', async () => {
      const store = await backend.clean();
      const clock = manualClock('2024-03-04T10:00:00Z'); // 11:00 in Berlin
      const projects = await queueWelcome(store, clock, treated[0]);
      await store.db.raw(
        `INSERT INTO consents (customer_id, id, channel, granted, source, evidence, at, recorded_at) VALUES (?, 'w1', 'email', false, 'support-ticket', '{}'::jsonb, ?, ?)`,
        [treated[0], new Date(clock.now()), new Date(clock.now())],
      );
      clock.advance(1000);
      const providers = logProviders();
      expect(await sendOutbox({ store, projects, clock, providers: providers.resolve, worker: 'w' })).toMatchObject({ claimed: 1, sent: 0, failed: 1 });
      expect(existsSync(providers.file)).toBe(false);
      expect(await rows(store, `SELECT status, last_error->>'code' AS code FROM outbox`)).toEqual([{ status: 'failed', code: 'no_consent' }]);
      expect(await rows(store, `SELECT outcome FROM attempts`)).toEqual([{ outcome: 'skipped' }]);
      const [run] = await rows<{ state: { messages: Record<string, { status: string }> } }>(store, `SELECT state FROM runs`);
      expect(Object.values(run.state.messages).map((m) => m.status)).toEqual(['failed']);
    });

    it('quiet hours that began before the send defer it to their end, without using an attempt', async () => {
      const store = await backend.clean();
      const clock = manualClock('2024-03-04T19:59:30Z'); // 20:59:30 in Berlin: queued just before quiet hours
      const projects = await queueWelcome(store, clock, treated[1]);
      clock.set(Date.parse('2024-03-04T20:00:30Z')); // 21:00:30 in Berlin
      const providers = logProviders();
      expect(await sendOutbox({ store, projects, clock, providers: providers.resolve, worker: 'w' })).toMatchObject({ claimed: 0, sent: 0 });
      const [row] = await rows<{ status: string; next_attempt_at: Date; attempts: number }>(store, `SELECT status, next_attempt_at, attempts FROM outbox`);
      expect({ ...row, next_attempt_at: new Date(row.next_attempt_at).toISOString() }).toEqual({ status: 'queued', next_attempt_at: '2024-03-05T08:00:00.000Z', attempts: 0 });
      clock.set(Date.parse('2024-03-05T08:00:00Z')); // 09:00 in Berlin
      expect(await sendOutbox({ store, projects, clock, providers: providers.resolve, worker: 'w' })).toMatchObject({ claimed: 1, sent: 1 });
      expect(readFileSync(providers.file, 'utf8').trim().split('\n')).toHaveLength(1);
    });

    it('a frequency cap counts the sends that went out in its window, even those whose steps were judged in an earlier one', async () => {
      const store = await backend.clean();
      const clock = manualClock('2024-03-04T10:00:00Z');
      const customer = treated[2];
      await applyConfig(store, collectConfigFiles(project), { who: 'test', project, clock });
      // Three marketing emails stepped 8 days ago (outside the 7-day cap at the step) that went out 2 days ago.
      for (const id of ['m1', 'm2', 'm3']) await pastSend(store, { customer, id, channel: 'email', template: 'welcome', cost: 0, steppedAt: clock.now() - 8 * DAY, sentAt: clock.now() - 2 * DAY, outcome: 'sent' });
      const projects = await queueWelcome(store, clock, customer);
      const providers = logProviders();
      expect(await sendOutbox({ store, projects, clock, providers: providers.resolve, worker: 'w' })).toMatchObject({ claimed: 1, sent: 0, failed: 1 });
      expect(existsSync(providers.file)).toBe(false);
      expect(await rows(store, `SELECT status, last_error->>'code' AS code FROM outbox WHERE journey = 'welcome'`)).toEqual([{ status: 'failed', code: 'frequency_cap' }]);
    });

    it('failed sends do not count against a cap; sent and ambiguous ones do', async () => {
      const store = await backend.clean();
      const clock = manualClock('2024-03-04T10:00:00Z');
      const customer = treated[3];
      await applyConfig(store, collectConfigFiles(project), { who: 'test', project, clock });
      await pastSend(store, { customer, id: 'm1', channel: 'email', template: 'welcome', cost: 0, steppedAt: clock.now() - 8 * DAY, sentAt: clock.now() - DAY, outcome: 'sent' });
      await pastSend(store, { customer, id: 'm2', channel: 'email', template: 'welcome', cost: 0, steppedAt: clock.now() - 8 * DAY, sentAt: clock.now() - DAY, outcome: 'ambiguous' });
      await pastSend(store, { customer, id: 'm3', channel: 'email', template: 'welcome', cost: 0, steppedAt: clock.now() - 8 * DAY, sentAt: clock.now() - DAY, outcome: 'failed_permanent' });
      const projects = await queueWelcome(store, clock, customer);
      const providers = logProviders();
      expect(await sendOutbox({ store, projects, clock, providers: providers.resolve, worker: 'w' })).toMatchObject({ claimed: 1, sent: 1 });
      expect(readFileSync(providers.file, 'utf8').trim().split('\n')).toHaveLength(1);
    });

    it("a budget counts the day's SMS that actually went out; the one that would overspend is not sent", async () => {
      const store = await backend.clean();
      const clock = manualClock('2024-03-04T10:00:00Z');
      await applyConfig(store, collectConfigFiles(project), { who: 'test', project, clock });
      const version = (await rows<{ version: string }>(store, `SELECT version FROM activations WHERE active`))[0].version;
      // Other customers' SMS worth 24.98 EUR, stepped two days ago, sent within the last day (the budget is
      // 25 EUR a day); a failed one worth 5 EUR does not count.
      await pastSend(store, { customer: 'other-1', id: 's1', channel: 'sms', template: 'winback', cost: 24.98, steppedAt: clock.now() - 2 * DAY, sentAt: clock.now() - 3_600_000, outcome: 'sent' });
      await pastSend(store, { customer: 'other-2', id: 's2', channel: 'sms', template: 'winback', cost: 5, steppedAt: clock.now() - 2 * DAY, sentAt: clock.now() - 3_600_000, outcome: 'failed_permanent' });
      const queue = async (customer: string, id: string) => {
        await upsertCustomers(store.db, [{ id: customer, attributes: { phone: '+4915100000000', sms_opt_in: true, timezone: 'Europe/Berlin' } }], clock.now());
        await store.db.raw(
          `INSERT INTO outbox (customer_id, id, journey, step, channel, template, class, config_version, status, next_attempt_at, created_at, updated_at)
           VALUES (?, ?, 'lapsed-loyal-winback', 'sms', 'sms', 'winback', 'marketing', ?, 'queued', ?, ?, ?)`,
          [customer, id, version, new Date(clock.now()), new Date(clock.now()), new Date(clock.now())],
        );
        await store.db.raw(`INSERT INTO ledger (customer_id, message_id, channel, class, journey, at, cost) VALUES (?, ?, 'sms', 'marketing', 'lapsed-loyal-winback', ?, 0.06)`, [customer, id, new Date(clock.now())]);
      };
      await queue('b-1', 'q1');
      const providers = logProviders();
      expect(await sendOutbox({ store, projects: storeProjectLoader(store), clock, providers: providers.resolve, worker: 'w' })).toMatchObject({ claimed: 1, sent: 0, failed: 1 });
      expect(await rows(store, `SELECT status, last_error->>'code' AS code FROM outbox WHERE id = 'q1'`)).toEqual([{ status: 'failed', code: 'budget' }]);
      // The next day, the window has moved past the earlier SMS: the next one goes out.
      clock.advance(DAY);
      await queue('b-2', 'q2');
      expect(await sendOutbox({ store, projects: storeProjectLoader(store), clock, providers: providers.resolve, worker: 'w' })).toMatchObject({ claimed: 1, sent: 1 });
    });
  });
}
