// rfm.* and clv.* in the engine, on both backends: the worker fits the population models from the stored
// events (customer-models.ts), and a customer's scores then equal what the plan computes on the same data at
// the same instant; a segment that reads them starts entering customers once the first fit exists.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadProject } from '../../src/config/build-project.js';
import type { Project } from '../../src/config/model.js';
import { loadDataset } from '../../src/dataset/load-dataset.js';
import { manualClock } from '../../src/engine/clock.js';
import { collectConfigFiles } from '../../src/engine/config-files.js';
import { applyConfig, status } from '../../src/engine/config-versions.js';
import { insertEvents, upsertCustomers } from '../../src/engine/ingest/write-ingest.js';
import type { OpenedStore } from '../../src/engine/store/index.js';
import { inputValue, loadCustomers } from '../../src/engine/worker/customer-data.js';
import { latestModels, refitModels } from '../../src/engine/worker/customer-models.js';
import { processEvents, storeProjectLoader } from '../../src/engine/worker/index.js';
import type { ClvInput, InputValue, RfmInput } from '../../src/model/inputs.js';
import { derivedProvider } from '../../src/plan/derived-inputs.js';
import { contact, DAY, NOW, purchases, writeDataset, type Person } from '../support/plan-dataset.js';
import { backendNames, rows, useBackend } from './support/backends.js';
import { prng } from '../support/prng.js';

const loaded = loadProject([path.resolve('campaigns')]);
if (!loaded.project) throw new Error('campaigns/ does not load');
const project: Project = loaded.project;

/**
 * 160 shoppers drawn the way BG/NBD assumes: each buys at its own rate and may drop out after any purchase
 * (a fit on data without dropouts runs to the model's boundary, where clv.value has no finite answer), and
 * spends around its own mean; plus one lapsing big spender.
 */
function shoppers(): Person[] {
  const rand = prng(20261123);
  const out: Person[] = [];
  for (let i = 0; i < 160; i++) {
    const times = [NOW - Math.floor(30 + rand() * 700) * DAY];
    const gapDays = 5 + rand() * 60;
    const dropout = 0.1 + rand() * 0.5;
    for (;;) {
      if (rand() < dropout) break;
      const next = times[times.length - 1] + Math.ceil(-Math.log(1 - rand()) * gapDays) * DAY;
      if (next >= NOW) break;
      times.push(next);
    }
    const mean = 10 + rand() * 140;
    const events = purchases(`c${i}`, times).map((e) => ({ ...e, props: { ...e.props, amount: Math.round(mean * (0.5 + rand()) * 100) / 100 } }));
    out.push({ id: `c${String(i).padStart(3, '0')}`, events });
  }
  // Bought often and much, last 200 days ago (r low, f high): at risk, and not lapsed-loyal (4 < 5 in a year).
  out.push({ id: 'slipping', events: purchases('slipping', [330, 290, 250, 200].map((d) => NOW - d * DAY), 150) });
  return out;
}

const RFM_FIELDS: RfmInput[] = (['r', 'f', 'm', 'score', 'segment'] as const).map((field) => ({ kind: 'rfm', key: `rfm.${field}`, field }));
/** The clv inputs the example's segments read (clv.p_alive, clv.value(365d)), keyed as the plan keys them. */
const CLV_SPECS: ClvInput[] = [...new Map([...project.segments.values()].flatMap((s) => s.where.inputs).filter((i): i is ClvInput => i.kind === 'clv').map((i) => [i.key, i])).values()];

async function seed(store: OpenedStore, people: readonly Person[], clock: ReturnType<typeof manualClock>): Promise<void> {
  await applyConfig(store, collectConfigFiles(project), { who: 'test', project, clock });
  await upsertCustomers(store.db, people.map((p) => ({ id: p.id, attributes: contact(p.id) })), clock.now());
  const events = people.flatMap((p) => p.events.map((e, k) => ({ customerId: p.id, id: `${p.id}-${k}`, type: e.type, ts: e.at, props: e.props ?? {} })));
  for (let i = 0; i < events.length; i += 500) await insertEvents(store.db, events.slice(i, i + 500), clock.now());
}

describe.each(backendNames())('customer models on %s', (name) => {
  const backend = useBackend(name);
  const people = shoppers();
  /** The plan's values on the same data at NOW: customer id → input key → value. */
  const planned = new Map<string, Map<string, InputValue>>();

  beforeAll(() => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'herald-models-'));
    writeDataset(dir, people);
    const dataset = loadDataset(dir, project.model).dataset!;
    const provider = derivedProvider(project, dataset, NOW);
    for (let c = 0; c < dataset.customerCount; c++) {
      const values = new Map<string, InputValue>();
      for (const spec of RFM_FIELDS) values.set(spec.key, provider.rfm!(c, spec, NOW));
      for (const spec of CLV_SPECS) values.set(spec.key, provider.clv!(c, spec.key));
      planned.set(dataset.customerId(c), values);
    }
  });

  it("fits RFM boundaries and CLV from the stored events; every customer's scores equal the plan's at the same instant", async () => {
    const store = await backend.clean();
    const clock = manualClock(NOW);
    await seed(store, people, clock);
    const customers = await loadCustomers(store.db, people.map((p) => p.id));
    // Before the first fit there is nothing to score against.
    expect(inputValue(customers.get('slipping')!, project, RFM_FIELDS[4], NOW)).toBeNull();
    expect(await refitModels({ store, projects: storeProjectLoader(store), clock })).toBe(true);
    const models = await latestModels(store.db);
    expect(models?.clv?.ok).toBe(true);
    expect((await status(store, { clock })).models).toMatchObject({ rfmPopulation: models?.rfm?.population, clv: { ok: true } });
    // The population: customers with a purchase in the 365-day window.
    expect(models?.rfm?.population).toBe(people.filter((p) => p.events.some((e) => e.at > NOW - 365 * DAY)).length);
    const fitted = await loadCustomers(store.db, people.map((p) => p.id));
    expect(CLV_SPECS.map((s) => s.fn).sort()).toEqual(['p_alive', 'value']);
    expect(models?.clv?.gammaGamma).not.toBeNull();
    const compared = new Map<string, number>();
    for (const p of people) {
      const customer = fitted.get(p.id)!;
      const plan = planned.get(p.id)!;
      for (const spec of RFM_FIELDS) expect([p.id, spec.key, inputValue(customer, project, spec, NOW)]).toEqual([p.id, spec.key, plan.get(spec.key)]);
      for (const spec of CLV_SPECS) {
        const engine = inputValue(customer, project, spec, NOW);
        const want = plan.get(spec.key);
        if (want === null) expect([p.id, spec.key, engine]).toEqual([p.id, spec.key, null]);
        else {
          // Same code and data; the fit sums the population in another order, so the last digits may differ.
          expect(typeof engine).toBe('number');
          expect(Math.abs((engine as number) - (want as number))).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(want as number)));
          compared.set(spec.key, (compared.get(spec.key) ?? 0) + 1);
        }
      }
    }
    for (const spec of CLV_SPECS) expect([spec.key, (compared.get(spec.key) ?? 0) > 50]).toEqual([spec.key, true]);
    expect(planned.get('slipping')!.get('rfm.segment')).toMatch(/^(at_risk|cant_lose)$/);
  });

  it('refits once per interval and at once for a configuration with other model settings', async () => {
    const store = await backend.clean();
    const clock = manualClock(NOW);
    await seed(store, people.slice(0, 40), clock);
    const projects = storeProjectLoader(store);
    expect(await refitModels({ store, projects, clock })).toBe(true);
    clock.advance(3_600_000);
    expect(await refitModels({ store, projects, clock })).toBe(false);
    clock.advance(DAY);
    expect(await refitModels({ store, projects, clock })).toBe(true);
    // A new version with another RFM window: the stored boundaries no longer apply, so it fits now.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'herald-models-cfg-'));
    const { cpSync, readFileSync, writeFileSync } = await import('node:fs');
    cpSync(path.resolve('campaigns'), dir, { recursive: true });
    writeFileSync(path.join(dir, 'herald.yaml'), readFileSync(path.join(dir, 'herald.yaml'), 'utf8').replace('rfm: { window: 365d', 'rfm: { window: 180d'));
    const other = loadProject([dir]).project!;
    const applied = await applyConfig(store, collectConfigFiles(other), { who: 'test', project: other, clock });
    clock.advance(60_000);
    // Another replica is fitting for it already (its lease holds): ticks here queue no second fit.
    await store.db.raw(`INSERT INTO model_fits (due_at, config_version, created_at, lease_owner, lease_until) VALUES (?, ?, ?, 'replica-2', ?)`, [
      new Date(clock.now()),
      applied.version,
      new Date(clock.now()),
      new Date(clock.now() + 600_000),
    ]);
    for (let i = 0; i < 3; i++) {
      clock.advance(1000);
      expect(await refitModels({ store, projects, clock })).toBe(false);
    }
    expect(await rows(store, `SELECT count(*)::int AS n FROM model_fits WHERE done_at IS NULL`)).toEqual([{ n: 1 }]);
    // That replica died: once its lease runs out, this one takes the fit over.
    clock.advance(600_000);
    expect(await refitModels({ store, projects, clock })).toBe(true);
    expect(JSON.parse((await latestModels(store.db))!.rfm!.settings)).toMatchObject({ windowMs: 180 * DAY });
    expect(await rows(store, `SELECT count(*)::int AS n FROM model_fits WHERE done_at IS NOT NULL`)).toEqual([{ n: 3 }]);
  });

  it('a segment reading rfm.segment enters customers once the models are fitted', async () => {
    const store = await backend.clean();
    const clock = manualClock(NOW);
    await seed(store, people, clock);
    const projects = storeProjectLoader(store);
    const view = (id: string) => ({ customerId: 'slipping', id, type: 'product_view', ts: clock.now(), props: { product_id: 'P0009', price: 10 } });
    // Without a fit rfm.segment is null, so rfm-at-risk holds for nobody.
    await insertEvents(store.db, [view('v1')], clock.now());
    while ((await processEvents({ store, projects, clock, batchSize: 1000 })).events > 0);
    expect(await rows(store, `SELECT journey FROM runs WHERE customer_id = 'slipping' AND journey = 'rfm-winback'`)).toEqual([]);
    expect(await refitModels({ store, projects, clock })).toBe(true);
    clock.advance(60_000);
    await insertEvents(store.db, [view('v2')], clock.now());
    await processEvents({ store, projects, clock });
    expect(await rows(store, `SELECT journey FROM runs WHERE customer_id = 'slipping' AND journey = 'rfm-winback'`)).toEqual([{ journey: 'rfm-winback' }]);
  });
});
