// The policy gate again at send time, on both backends: a consent withdrawn between the step and the send
// stops the message without a provider call (and tells the run); quiet hours that began meanwhile defer it
// to their end without using an attempt.
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
  });
}
