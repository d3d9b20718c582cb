// The durable journey worker on both backends: the welcome journey from campaigns/ driven from rows.
import { mkdtempSync, readFileSync } from 'node:fs';
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
import { startEngine } from '../../src/engine/engine.js';
import { insertEvents, upsertCustomers } from '../../src/engine/ingest/write-ingest.js';
import type { OpenedStore } from '../../src/engine/store/index.js';
import { processEvents, processTimers, startWorker, storeProjectLoader } from '../../src/engine/worker/index.js';
import { backendNames, count, rows, useBackend } from './support/backends.js';

const DAY = 86_400_000;
const loaded = loadProject([path.resolve('campaigns')]);
if (!loaded.project) throw new Error(JSON.stringify(loaded.diagnostics, null, 2));
const project = loaded.project;
const welcome = project.journeys.get('welcome')!;

/** Treated (not held-out) customer ids. */
const treated = Array.from({ length: 50 }, (_, i) => `cust-${i}`).filter((id) => !isHeldOut(welcome, id));

/** Every channel writes to a log file instead of its real provider. */
function logProviders(): { resolve: (c: ChannelDef) => ChannelProvider; file: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'herald-worker-'));
  const file = path.join(dir, 'outbox.ndjson');
  const cache = new Map<string, ChannelProvider>();
  return {
    file,
    resolve: (c) => {
      let p = cache.get(c.meta.name);
      if (!p) {
        p = createProvider({ ...c, provider: { ...c.provider, kind: 'log', path: file, idempotent: true } }, {});
        cache.set(c.meta.name, p);
      }
      return p;
    },
  };
}

async function setup(store: OpenedStore, clock: ReturnType<typeof manualClock>, ids: readonly string[]) {
  await applyConfig(store, collectConfigFiles(project), { who: 'test', project, clock });
  await upsertCustomers(
    store.db,
    ids.map((id) => ({ id, attributes: { email: `${id}@example.com`, email_opt_in: true, first_name: 'Ada', timezone: 'Europe/Berlin' } })),
    clock.now(),
  );
}

for (const name of backendNames()) {
  describe(`journey worker on ${name}`, () => {
    const backend = useBackend(name);

    it('runs the welcome journey: one queued email per signup, no double entry, the reminder after 2 days', async () => {
      const store = await backend.clean();
      const clock = manualClock('2024-03-04T10:00:00Z');
      const customer = treated[0];
      await setup(store, clock, [customer]);
      const signup = { customerId: customer, id: 'evt-1', type: 'signup', ts: clock.now(), props: {} };
      await insertEvents(store.db, [signup], clock.now());
      const projects = storeProjectLoader(store);

      const first = await processEvents({ store, projects, clock });
      expect(first).toMatchObject({ events: 1, entered: 1, sends: 1 });
      const queued = await rows<{ id: string; channel: string; template: string; status: string }>(store, `SELECT id, channel, template, status FROM outbox`);
      expect(queued).toEqual([{ id: `welcome:${customer}:${clock.now()}/hello/1`, channel: 'email', template: 'welcome', status: 'queued' }]);
      expect(await count(store, 'ledger', 'message_id = ?', [queued[0].id])).toBe(1);
      expect(await count(store, 'events', 'processed_at IS NULL')).toBe(0);

      // The same event again: ingest stores nothing; and even re-queued, it enters nothing twice.
      expect((await insertEvents(store.db, [signup], clock.now()))[0].inserted).toBe(false);
      await store.db.raw(`UPDATE events SET processed_at = NULL`);
      expect(await processEvents({ store, projects, clock })).toMatchObject({ events: 1, entered: 0, sends: 0 });
      expect(await count(store, 'runs')).toBe(1);
      expect(await count(store, 'outbox')).toBe(1);

      // The worker sends it through the (log) provider.
      const providers = logProviders();
      const worker = startWorker({ store, projects, clock, providers: providers.resolve });
      const t1 = await worker.tick();
      expect(t1.outbox).toMatchObject({ claimed: 1, sent: 1 });
      expect(await rows(store, `SELECT status, attempts FROM outbox`)).toEqual([{ status: 'sent', attempts: 1 }]);
      expect(await rows(store, `SELECT n, outcome FROM attempts`)).toEqual([{ n: 1, outcome: 'sent' }]);
      const line = JSON.parse(readFileSync(providers.file, 'utf8').trim()) as { id: string; to: string; message: { subject: string } };
      expect(line).toMatchObject({ id: queued[0].id, to: `${customer}@example.com` });

      // Not opened within 2 days: the reminder.
      clock.advance(DAY);
      expect((await worker.tick()).timers).toBe(0);
      clock.advance(DAY);
      const t2 = await worker.tick();
      expect(t2).toMatchObject({ timers: 1, sends: 1 });
      const all = await rows<{ template: string; status: string }>(store, `SELECT template, status FROM outbox ORDER BY created_at, id`);
      expect(all).toEqual([
        { template: 'welcome', status: 'sent' },
        { template: 'welcome-reminder', status: 'sent' },
      ]);
      expect(await rows(store, `SELECT status, wake_at FROM runs`)).toEqual([{ status: 'exited', wake_at: null }]);
      expect((await worker.tick()).timers).toBe(0);
      await worker.stop();
    });

    it('a held-out customer enters as held_out and gets nothing', async () => {
      const store = await backend.clean();
      const clock = manualClock('2024-03-04T10:00:00Z');
      const held = Array.from({ length: 200 }, (_, i) => `h-${i}`).find((id) => isHeldOut(welcome, id))!;
      await setup(store, clock, [held]);
      await insertEvents(store.db, [{ customerId: held, id: 'e', type: 'signup', ts: clock.now(), props: {} }], clock.now());
      expect(await processEvents({ store, projects: storeProjectLoader(store), clock })).toMatchObject({ entered: 1, sends: 0 });
      expect(await rows(store, `SELECT status FROM runs`)).toEqual([{ status: 'held_out' }]);
      expect(await count(store, 'outbox')).toBe(0);
    });

    it('a permanent provider failure marks the message failed; an expired sending lease becomes ambiguous on a non-idempotent channel', async () => {
      const store = await backend.clean();
      const clock = manualClock('2024-03-04T10:00:00Z');
      const [a, b] = treated;
      await setup(store, clock, [a, b]);
      await insertEvents(store.db, [a, b].map((c) => ({ customerId: c, id: 'e', type: 'signup', ts: clock.now(), props: {} })), clock.now());
      const projects = storeProjectLoader(store);
      await processEvents({ store, projects, clock });
      // Simulate a crash of another worker mid-send for b's message.
      await store.db.raw(`UPDATE outbox SET status = 'sending', attempts = 1, lease_owner = 'dead', lease_until = ? WHERE customer_id = ?`, [new Date(clock.now() - 1), b]);
      await store.db.raw(`INSERT INTO attempts (customer_id, message_id, n, worker, started_at) SELECT customer_id, id, 1, 'dead', ? FROM outbox WHERE customer_id = ?`, [new Date(clock.now() - 1), b]);
      const refusing: ChannelProvider = {
        idempotent: false,
        send: async () => ({ kind: 'failed', retryable: false, code: 'rejected', message: 'no such mailbox' }),
        close: async () => {},
      };
      const worker = startWorker({ store, projects, clock, providers: () => refusing });
      const t = await worker.tick();
      expect(t.outbox).toMatchObject({ claimed: 1, failed: 1, recovered: 1 });
      expect(await rows(store, `SELECT customer_id, status FROM outbox ORDER BY customer_id`)).toEqual([
        { customer_id: a, status: 'failed' },
        { customer_id: b, status: 'ambiguous' },
      ]);
      expect(await rows(store, `SELECT customer_id, outcome FROM attempts ORDER BY customer_id`)).toEqual([
        { customer_id: a, outcome: 'failed_permanent' },
        { customer_id: b, outcome: 'ambiguous' },
      ]);
      // The failure reached the run: the message state says failed.
      const [run] = await rows<{ state: { messages: Record<string, { status: string }> } }>(store, `SELECT state FROM runs WHERE customer_id = ?`, [a]);
      expect(Object.values(run.state.messages).map((m) => m.status)).toEqual(['failed']);
      await worker.stop();
    });

    it('startEngine with a worker: an event POSTed over HTTP is entered by the worker, and close() stops it', async () => {
      const store = await backend.clean();
      const clock = manualClock('2024-03-04T10:00:00Z');
      const customer = treated[1];
      await setup(store, clock, [customer]);
      const providers = logProviders();
      const engine = await startEngine({ store, token: 'tok', port: 0, clock, logLevel: 'silent', configPollMs: 0, worker: { providers: providers.resolve } });
      try {
        const res = await fetch(`${engine.url}/v1/events`, {
          method: 'POST',
          headers: { authorization: 'Bearer tok', 'content-type': 'application/json' },
          body: JSON.stringify({ customer_id: customer, id: 'h-1', type: 'signup', ts: new Date(clock.now()).toISOString() }),
        });
        expect(res.status).toBeLessThan(300);
        await engine.server.settled();
        await engine.worker!.tick();
        expect(await rows(store, `SELECT template, status FROM outbox`)).toEqual([{ template: 'welcome', status: 'sent' }]);
      } finally {
        await engine.close();
      }
    });

    if (name === 'postgres') {
      it('a due timer is claimed once when two workers tick concurrently', async () => {
        const store = await backend.fresh();
        const other = await backend.sibling!(store);
        const clock = manualClock('2024-03-04T10:00:00Z');
        const ids = treated.slice(0, 6);
        await setup(store, clock, ids);
        await insertEvents(store.db, ids.map((c) => ({ customerId: c, id: 'e', type: 'signup', ts: clock.now(), props: {} })), clock.now());
        expect((await processEvents({ store, projects: storeProjectLoader(store), clock })).entered).toBe(ids.length);
        clock.advance(2 * DAY);
        const results = await Promise.all(
          [store, other, store, other].map((s, i) => processTimers({ store: s, projects: storeProjectLoader(s), clock, worker: `w${i}`, batchSize: 2 })),
        );
        const again = await Promise.all([store, other].map((s, i) => processTimers({ store: s, projects: storeProjectLoader(s), clock, worker: `x${i}` })));
        const stepped = [...results, ...again].reduce((a, r) => a + r.runs, 0);
        expect(stepped).toBe(ids.length);
        expect(await count(store, 'outbox', `template = 'welcome-reminder'`)).toBe(ids.length);
        expect(await count(store, 'runs', `status = 'exited'`)).toBe(ids.length);
      });
    }
  });
}
