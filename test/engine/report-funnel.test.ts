// `herald report funnel` on both backends: the welcome journey driven by the real worker for treated and
// held-out customers, receipts repeated by the provider, purchases as goals; then the funnel and the uplift.
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
import { funnelReport, renderFunnelText, uplift } from '../../src/engine/report-funnel.js';
import { verifyUnsubscribeToken } from '../../src/engine/http/unsubscribe.js';
import { readFileSync } from 'node:fs';
import { processEvents, startWorker, storeProjectLoader } from '../../src/engine/worker/index.js';
import { backendNames, rows, useBackend } from './support/backends.js';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';

const project = loadProject([path.resolve('campaigns')]).project!;
const welcome = project.journeys.get('welcome')!;
const ids = Array.from({ length: 60 }, (_, i) => `f-${i}`);
const treated = ids.filter((id) => !isHeldOut(welcome, id));
const held = ids.filter((id) => isHeldOut(welcome, id));

function logProvider(file = path.join(mkdtempSync(path.join(os.tmpdir(), 'herald-funnel-')), 'out.ndjson')): (c: ChannelDef) => ChannelProvider {
  const cache = new Map<string, ChannelProvider>();
  return (c) => {
    let p = cache.get(c.meta.name);
    if (!p) cache.set(c.meta.name, (p = createProvider({ ...c, provider: { ...c.provider, kind: 'log', path: file, idempotent: true } }, {})));
    return p;
  };
}

describe('uplift', () => {
  it('is the difference of rates with a 95% interval', () => {
    const u = uplift({ customers: 1000, converted: 120, rate: 0.12 }, { customers: 1000, converted: 100, rate: 0.1 })!;
    expect(u.difference).toBeCloseTo(0.02, 12);
    const se = Math.sqrt((0.12 * 0.88) / 1000 + (0.1 * 0.9) / 1000);
    expect(u.ci95[0]).toBeCloseTo(0.02 - 1.959964 * se, 6);
    expect(u.ci95[1]).toBeCloseTo(0.02 + 1.959964 * se, 6);
    expect(uplift({ customers: 10, converted: 1, rate: 0.1 }, { customers: 0, converted: 0, rate: 0 })).toBeNull();
  });
});

for (const name of backendNames()) {
  describe(`funnel report on ${name}`, () => {
    const backend = useBackend(name);

    it('counts steps, sends and receipts once each, and measures the goal in both groups', async () => {
      expect(held.length).toBeGreaterThan(0);
      const store = await backend.clean();
      const clock = manualClock('2024-03-04T10:00:00Z');
      const since = new Date(clock.now());
      await applyConfig(store, collectConfigFiles(project), { who: 'test', project, clock });
      await upsertCustomers(store.db, ids.map((id) => ({ id, attributes: { email: `${id}@example.com`, email_opt_in: true, timezone: 'Europe/Berlin' } })), clock.now());
      await insertEvents(store.db, ids.map((id) => ({ customerId: id, id: `s-${id}`, type: 'signup', ts: clock.now(), props: {} })), clock.now());
      const projects = storeProjectLoader(store);
      await processEvents({ store, projects, clock });
      const worker = startWorker({ store, projects, clock, providers: logProvider() });
      // The outbox is claimed in batches: tick until everything queued went out.
      for (let i = 0; i < 5 && (await rows(store, `SELECT 1 FROM outbox WHERE status = 'queued'`)).length > 0; i++) await worker.tick();

      // The provider reports the first 5 treated customers' welcome mail delivered, twice, and 2 opened.
      const sent = await rows<{ id: string; customer_id: string }>(store, `SELECT id, customer_id FROM outbox WHERE step = 'hello' ORDER BY customer_id`);
      expect(sent).toHaveLength(treated.length);
      const at = new Date(clock.now() + 60_000);
      const receipt = (n: number, m: { id: string; customer_id: string }, status: string) => ({
        channel: 'email',
        provider_event_id: `p-${n}`,
        message_id: m.id,
        customer_id: m.customer_id,
        status,
        at,
        received_at: at,
      });
      await store.db('receipts').insert([
        ...sent.slice(0, 5).map((m, i) => receipt(i, m, 'delivered')),
        ...sent.slice(0, 5).map((m, i) => receipt(100 + i, m, 'delivered')), // the provider repeats itself
        ...sent.slice(0, 2).map((m, i) => receipt(200 + i, m, 'opened')),
      ]);
      // Purchases within 14 days: 3 treated customers and 1 held-out customer.
      const buyers = [...treated.slice(0, 3), held[0]];
      await insertEvents(store.db, buyers.map((id) => ({ customerId: id, id: `p-${id}`, type: 'purchase', ts: clock.now() + 86_400_000, props: { order_id: `o-${id}`, amount: 30, product_ids: [] } })), clock.now());
      await worker.stop();

      const report = await funnelReport(store, welcome, since);
      expect(report.entered).toBe(treated.length);
      expect(report.heldOut).toBe(held.length);
      const hello = report.steps.find((s) => s.id === 'hello')!;
      expect(hello).toMatchObject({ entered: treated.length, sent: { email: treated.length }, delivered: 5, opened: 2, clicked: 0 });
      expect(report.goal!.treated).toMatchObject({ customers: treated.length, converted: 3 });
      expect(report.goal!.holdout).toMatchObject({ customers: held.length, converted: 1 });
      expect(report.goal!.uplift!.difference).toBeCloseTo(3 / treated.length - 1 / held.length, 12);
      expect(renderFunnelText(report)).toMatch(/uplift -?\d+\.\d% \(95% CI/);
    });

    it('sent email carries a signed one-click unsubscribe link for that customer, channel and message', async () => {
      const store = await backend.clean();
      const clock = manualClock('2024-03-04T10:00:00Z');
      const id = treated[0];
      await applyConfig(store, collectConfigFiles(project), { who: 'test', project, clock });
      await upsertCustomers(store.db, [{ id, attributes: { email: `${id}@example.com`, email_opt_in: true, timezone: 'Europe/Berlin' } }], clock.now());
      await insertEvents(store.db, [{ customerId: id, id: 's', type: 'signup', ts: clock.now(), props: {} }], clock.now());
      const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'herald-unsub-')), 'out.ndjson');
      const worker = startWorker({ store, projects: storeProjectLoader(store), clock, providers: logProvider(file), unsubscribeSecret: 'k' });
      await worker.tick();
      await worker.stop();
      const line = JSON.parse(readFileSync(file, 'utf8').trim().split('\n')[0]) as { id: string; unsubscribeUrl: string; message: { text?: string } };
      const prefix = `${project.settings.links.unsubscribe}/`;
      expect(line.unsubscribeUrl.startsWith(prefix)).toBe(true);
      expect(verifyUnsubscribeToken(line.unsubscribeUrl.slice(prefix.length), 'k')).toEqual({ customerId: id, channel: 'email', messageId: line.id });
      expect(line.message.text).toContain(line.unsubscribeUrl);
    });
  });
}
