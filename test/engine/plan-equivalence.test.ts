// The plan's promise: the engine, fed the same inputs, sends exactly what the plan predicted. One project
// (the example's welcome chain and the push → email → SMS win-back cascade, with its caps, quiet hours and
// SMS budget), one set of customers and events; the plan simulates it, the engine runs it on a manual clock
// on both backends, receiving the same receipts the plan drew (simulatedReceipts), and the two lists of
// sends (customer, journey, step, channel, template, instant) must be equal.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createProvider, type ChannelProvider } from '../../src/channels/index.js';
import { loadProject } from '../../src/config/build-project.js';
import type { ChannelDef, Project } from '../../src/config/model.js';
import { loadDataset } from '../../src/dataset/load-dataset.js';
import { manualClock } from '../../src/engine/clock.js';
import { collectConfigFiles } from '../../src/engine/config-files.js';
import { applyConfig } from '../../src/engine/config-versions.js';
import { insertReceipts } from '../../src/engine/http/receipts.js';
import { insertEvents, upsertCustomers } from '../../src/engine/ingest/write-ingest.js';
import { startWorker, storeProjectLoader } from '../../src/engine/worker/index.js';
import { derivedProvider } from '../../src/plan/derived-inputs.js';
import { simulate } from '../../src/plan/simulate.js';
import { simulatedReceipts } from '../../src/plan/simulated-receipts.js';
import { contact, DAY, HOUR, NOW, purchases, writeDataset, type Person } from '../support/plan-dataset.js';
import { backendNames, rows, useBackend } from './support/backends.js';

const HORIZON = 12 * DAY;
const END = NOW + HORIZON;

interface Send {
  customer: string;
  journey: string;
  step: string;
  channel: string;
  template: string;
  at: string;
}

/** campaigns/ with only the two journeys under test (the others read RFM and CLV, which the engine scores live against its own fits while the plan holds them fixed over the window, so their sends may differ by design). */
function projectDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'herald-equiv-'));
  cpSync(path.resolve('campaigns'), dir, { recursive: true });
  rmSync(path.join(dir, 'journeys/loyalty.yaml'));
  rmSync(path.join(dir, 'journeys/browse-abandonment.yaml'));
  const winback = path.join(dir, 'journeys/winback.yaml');
  writeFileSync(
    winback,
    `apiVersion: herald/v1
kind: Journey
metadata: { name: lapsed-loyal-winback }
spec:
  entry: { segment: lapsed-loyal }
  reentry: { after: 60d }
  goal: { event: purchase, within: 14d }
  holdout: 10%
  steps:
    - id: offer
      cascade: winback-offer
`,
  );
  return dir;
}

const ZONES = ['Europe/Berlin', 'America/New_York', 'Asia/Tokyo', 'Europe/London'];

/** Signups through the horizon (some buy, some have no email consent) and lapsed loyal customers of every kind. */
function people(): Person[] {
  const out: Person[] = [];
  for (let i = 0; i < 24; i++) {
    const at = NOW + Math.round((i * 11.3 + 0.7) * HOUR);
    const events: Person['events'] = [{ type: 'signup', at }];
    if (i % 4 === 1) events.push(...purchases(`s${i}`, [at + (1 + (i % 3)) * DAY + 17 * 60_000]));
    out.push({ id: `s${i}`, attrs: { timezone: ZONES[i % ZONES.length], email_opt_in: i % 7 !== 3 }, events });
  }
  for (let i = 0; i < 30; i++) {
    // Six purchases, the last 91–130 days ago (or, for some, turning 90 days old inside the horizon).
    const lastDaysAgo = i % 6 === 5 ? 90 - (i % 5) - 1.3 : 91 + i;
    const times = [300, 250, 200, 170, 150].map((d) => NOW - d * DAY).concat([NOW - lastDaysAgo * DAY]);
    const events: Person['events'] = purchases(`l${i}`, times);
    if (i % 5 === 2) events.push(...purchases(`l${i}-back`, [NOW + (i % 3) * HOUR + 40 * 60_000]));
    const attrs: Record<string, unknown> = { timezone: ZONES[(i + 1) % ZONES.length] };
    if (i % 4 === 1) attrs.push_opt_in = false;
    if (i % 6 === 2) attrs.email = '';
    if (i % 9 === 4) attrs.sms_opt_in = false;
    out.push({ id: `l${i}`, attrs, events });
  }
  return out;
}

function planSends(project: Project, dir: string): Send[] {
  const loaded = loadDataset(dir, project.model);
  const dataset = loaded.dataset!;
  const all = Array.from({ length: dataset.customerCount }, (_, i) => i);
  const result = simulate(project, dataset, { now: NOW, horizonMs: HORIZON, seed: project.settings.plan.seed, traceCustomers: all, derived: derivedProvider(project, dataset, NOW) });
  const out: Send[] = [];
  for (const [c, records] of result.traces) {
    for (const r of records) {
      const m = /^sent \S+ '([^']+)' via ([^\s,]+)/.exec(r.what);
      if (m) out.push({ customer: dataset.customerId(c), journey: r.journey!, step: r.step!, channel: m[2], template: m[1], at: new Date(r.at).toISOString() });
    }
  }
  return sortSends(out);
}

function sortSends(s: Send[]): Send[] {
  return s.sort((a, b) => a.at.localeCompare(b.at) || a.customer.localeCompare(b.customer) || a.step.localeCompare(b.step));
}

function logProviders(): (c: ChannelDef) => ChannelProvider {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'herald-equiv-log-')), 'sent.ndjson');
  const cache = new Map<string, ChannelProvider>();
  return (c) => {
    let p = cache.get(c.meta.name);
    if (!p) {
      p = createProvider({ ...c, provider: { ...c.provider, kind: 'log', path: file, idempotent: true } }, {});
      cache.set(c.meta.name, p);
    }
    return p;
  };
}

describe('plan and engine on the same inputs', () => {
  let project: Project;
  let dataDir: string;
  let predicted: Send[];
  const cast = people();

  beforeAll(() => {
    const loaded = loadProject([projectDir()]);
    if (!loaded.project) throw new Error(JSON.stringify(loaded.diagnostics, null, 2));
    project = loaded.project;
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'herald-equiv-data-'));
    writeDataset(dataDir, cast);
    predicted = planSends(project, dataDir);
  });

  it('the plan predicts the welcome chain and every step of the cascade', () => {
    const by = (journey: string, channel?: string) => predicted.filter((s) => s.journey === journey && (!channel || s.channel === channel)).length;
    expect(by('welcome')).toBeGreaterThan(20);
    expect(predicted.some((s) => s.template === 'welcome-reminder')).toBe(true);
    expect(predicted.some((s) => s.template === 'welcome-nudge')).toBe(true);
    for (const channel of ['push', 'email', 'sms']) expect(by('lapsed-loyal-winback', channel)).toBeGreaterThan(0);
  });

  for (const name of backendNames()) {
    describe(name, () => {
      const backend = useBackend(name);

      it('the engine sends exactly what the plan predicted', async () => {
        const store = await backend.clean();
        const clock = manualClock(NOW);
        await applyConfig(store, collectConfigFiles(project), { who: 'test', project, clock });
        await upsertCustomers(store.db, cast.map((p) => ({ id: p.id, attributes: { ...contact(p.id), ...p.attrs } })), NOW);
        const events = cast
          .flatMap((p) => p.events.map((e, k) => ({ customerId: p.id, id: `${p.id}-${k}`, type: e.type, ts: e.at, props: e.props ?? {} })))
          .sort((a, b) => a.ts - b.ts || a.customerId.localeCompare(b.customerId));
        // History is what the engine already knew before NOW: stored and processed.
        await insertEvents(store.db, events.filter((e) => e.ts < NOW), NOW);
        await store.db.raw(`UPDATE events SET processed_at = received_at`);
        const future = events.filter((e) => e.ts >= NOW);

        const seed = String(project.settings.plan.seed);
        const pending: { at: number; channel: string; messageId: string; status: string; id: string }[] = [];
        const seen = new Set<string>();
        const worker = startWorker({ store, projects: storeProjectLoader(store), clock, providers: logProviders(), batchSize: 500 });
        let t = NOW;
        let k = 0;
        while (t <= END) {
          clock.set(t);
          const arriving: typeof future = [];
          while (k < future.length && future[k].ts <= t) arriving.push(future[k++]);
          if (arriving.length) await insertEvents(store.db, arriving, t);
          const due = pending.filter((r) => r.at <= t);
          for (const r of due) {
            pending.splice(pending.indexOf(r), 1);
            await insertReceipts(store, r.channel, [{ id: r.id, messageId: r.messageId, status: r.status as 'delivered', at: r.at, payload: {} }], t);
          }
          await worker.tick();
          // Messages sent at this instant get the receipts the plan drew for them.
          const sent = await rows<{ id: string; channel: string; created_at: Date }>(store, `SELECT id, channel, created_at FROM outbox WHERE status = 'sent'`);
          for (const m of sent) {
            if (seen.has(m.id)) continue;
            seen.add(m.id);
            const channel = project.channels.get(m.channel)!;
            for (const r of simulatedReceipts(seed, channel, m.id, new Date(m.created_at).getTime())) {
              pending.push({ at: r.at, channel: m.channel, messageId: m.id, status: r.status, id: `${m.id}/${r.status}` });
            }
          }
          const nextWake = (await rows<{ at: Date | null }>(store, `SELECT min(wake_at) AS at FROM runs WHERE status = 'active' AND wake_at > ?`, [new Date(t)]))[0].at;
          t = Math.min(
            k < future.length ? future[k].ts : Infinity,
            ...pending.map((r) => r.at),
            Math.floor(t / project.settings.segmentRefreshMs) * project.settings.segmentRefreshMs + project.settings.segmentRefreshMs,
            nextWake ? new Date(nextWake).getTime() : Infinity,
          );
        }
        await worker.stop();

        const actual = sortSends(
          (
            await rows<{ customer_id: string; journey: string; step: string; channel: string; template: string; created_at: Date }>(
              store,
              `SELECT customer_id, journey, step, channel, template, created_at FROM outbox`,
            )
          ).map((r) => ({ customer: r.customer_id, journey: r.journey, step: r.step, channel: r.channel, template: r.template, at: new Date(r.created_at).toISOString() })),
        );
        expect(actual).toEqual(predicted);
      }, 180_000);
    });
  }
});
