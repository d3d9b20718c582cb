// A batch reads only what its steps can use (customer-data.ts loadBatch). Of each customer's history, the part
// the expressions and templates name (history-needs.ts): every value an expression or template can read must
// come out the same as from the whole history (every input of the project, the LTV and each template's
// `recent` items), at instants that put events exactly on window boundaries and after `now`, with ties in
// time; the same for loadCustomers asked for that part (a sweep's page, a send). Of the runs, the ended ones
// without their state: re-entry still counts them, nothing steps them.
// On both backends.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProject } from '../../src/config/build-project.js';
import type { Project } from '../../src/config/model.js';
import { projectInputs } from '../../src/config/project-inputs.js';
import { manualClock } from '../../src/engine/clock.js';
import { collectConfigFiles } from '../../src/engine/config-files.js';
import { applyConfig } from '../../src/engine/config-versions.js';
import { insertEvents, upsertCustomers } from '../../src/engine/ingest/write-ingest.js';
import { isHeldOut } from '../../src/core/journey-step.js';
import { ingestWithEntry } from '../../src/engine/worker/ingest-entry.js';
import { goalJourneys, inputValue, ledgerWindows, loadBatch, loadCustomers, renderContext } from '../../src/engine/worker/customer-data.js';
import { refitModels } from '../../src/engine/worker/customer-models.js';
import { historyNeeds } from '../../src/engine/worker/history-needs.js';
import { storeProjectLoader } from '../../src/engine/worker/index.js';
import { backendNames, rows, useBackend } from './support/backends.js';
import { DAY, histories, NOW } from './support/histories.js';

const loaded = loadProject([path.resolve('campaigns')]);
if (!loaded.project) throw new Error('campaigns/ does not load');
const project: Project = loaded.project;

/** Only viewed-not-bought and no templates: 7-day windows with no `recent` behind them, so a boundary shows. */
const narrower = { ...project, templates: new Map(), segments: new Map([...project.segments].filter(([name]) => name === 'viewed-not-bought')) } as Project;

describe('historyNeeds', () => {
  it("names each type the example's expressions and templates read, with the longest window or all of it", () => {
    expect(historyNeeds([project])).toEqual([
      // count(purchase) and ltv read all of it (so do RFM and CLV, within it).
      // viewed.html.hbs shows the 3 newest views; viewed-not-bought counts views of 7 days.
      { type: 'product_view', windowMs: 7 * DAY, recent: 3 },
      { type: 'purchase', windowMs: Infinity, recent: 0 },
    ]);
  });

  it('takes, per type, the widest need of every version a batch steps with', () => {
    const needs = historyNeeds([narrower]);
    expect(needs.map((n) => n.type)).toEqual(['product_view', 'purchase']);
    expect(needs.find((n) => n.type === 'purchase')).toEqual({ type: 'purchase', windowMs: 7 * DAY, recent: 0 });
    expect(needs.find((n) => n.type === 'product_view')).toEqual({ type: 'product_view', windowMs: 7 * DAY, recent: 0 });
    expect(historyNeeds([narrower, project])).toEqual(historyNeeds([project]));
  });
});

describe.each(backendNames())('a batch read of part of the history, on %s', (name) => {
  const backend = useBackend(name);

  it('gives every input, the LTV and every recent item the whole history gives', async () => {
    const store = await backend.clean();
    const clock = manualClock(NOW);
    await applyConfig(store, collectConfigFiles(project), { who: 'test', project, clock });
    const events = histories(80);
    const ids = [...new Set(events.map((e) => e.customerId))].sort();
    await upsertCustomers(store.db, ids.map((id) => ({ id, attributes: { email: `${id}@example.com`, email_opt_in: true, sms_opt_in: true } })), NOW);
    for (let i = 0; i < events.length; i += 500) await insertEvents(store.db, events.slice(i, i + 500), NOW);
    // rfm.* and clv.* read the customer's own events against a population fit.
    expect(await refitModels({ store, projects: storeProjectLoader(store), clock })).toBe(true);

    for (const p of [project, narrower]) {
      const specs = [...new Map(projectInputs(p).map((s) => [s.key, s])).values()];
      const recent = [...p.templates.values()].flatMap((t) => t.compiled.usage.recent);
      const needs = historyNeeds([p]);
      const readsLtv = [...p.templates.values()].some((t) => t.compiled.usage.derived.includes('ltv'));
      for (const at of [NOW, NOW - 7 * DAY, NOW + 3 * DAY]) {
        const whole = await loadCustomers(store.db, ids);
        const part = await store.db.transaction((trx) => loadBatch(trx, ledgerWindows([p]), needs, ids, at));
        // The same part read for a sweep's page or a send (loadCustomers with `history`).
        const page = await loadCustomers(store.db, ids, { history: { needs, at } });
        let dropped = 0;
        for (const [id, read] of [...part.customers, ...page]) {
          const full = whole.get(id)!;
          dropped += full.events.length - read.events.length;
          for (const spec of specs) expect([id, at, spec.key, inputValue(read, p, spec, at)]).toEqual([id, at, spec.key, inputValue(full, p, spec, at)]);
          const fullCtx = renderContext(p, full, at);
          const readCtx = renderContext(p, read, at);
          // Every render context carries the LTV; it has to be right where a template reads it.
          if (readsLtv) expect([id, readCtx.derived]).toEqual([id, fullCtx.derived]);
          for (const r of recent) expect([id, at, r.event, readCtx.recentEvents(r.event, r.n)]).toEqual([id, at, r.event, fullCtx.recentEvents(r.event, r.n)]);
          // Nothing the project does not read is shipped.
          expect(read.events.filter((e) => !needs.some((n) => n.type === e.type))).toEqual([]);
        }
        // The point of it: most of the history stays in the database (counted once per reader).
        expect(dropped).toBeGreaterThan((2 * events.length) / 3);
      }
    }
    // Both shapes were compared: every kind of input, and template `recent` items.
    expect(new Set(projectInputs(project).map((s) => s.kind))).toEqual(new Set(['aggregate', 'ltv', 'rfm', 'clv']));
    expect([...project.templates.values()].some((t) => t.compiled.usage.recent.length > 0)).toBe(true);
  });

  it('reads ended runs without their state; re-entry still counts them and their rows stay as they were', async () => {
    const store = await backend.clean();
    const clock = manualClock(NOW);
    await applyConfig(store, collectConfigFiles(project), { who: 'test', project, clock });
    const welcome = project.journeys.get('welcome')!;
    const id = Array.from({ length: 50 }, (_, i) => `r-${i}`).find((c) => !isHeldOut(welcome, c))!;
    await upsertCustomers(store.db, [{ id, attributes: { email: `${id}@example.com`, email_opt_in: true } }], NOW);
    const projects = storeProjectLoader(store);
    const ingest = (eventId: string, type: string, props: Record<string, unknown> = {}) => ingestWithEntry({ store, projects, clock }, [{ customerId: id, id: eventId, type, ts: clock.now(), props }], clock.now());
    const read = () => store.db.transaction((trx) => loadBatch(trx, ledgerWindows([project]), historyNeeds([project]), [id], clock.now()));

    await ingest('signup-1', 'signup');
    const [active] = (await read()).runs.get(id)!;
    expect(active).toMatchObject({ journey: 'welcome', state: { status: 'active' } });
    expect(active.ended).toBeUndefined();
    expect(Object.keys(active.state).length).toBeGreaterThan(2);

    clock.advance(3_600_000);
    await ingest('purchase-1', 'purchase', { order_id: 'o1', amount: 20, product_ids: ['P0001'] });
    const stored = await rows(store, `SELECT run_id, status, state::text AS state FROM runs WHERE journey = 'welcome'`);
    expect(stored).toEqual([expect.objectContaining({ status: 'converted' })]);
    const [ended] = (await read()).runs.get(id)!;
    expect(ended).toMatchObject({ journey: 'welcome', runId: active.runId, ended: true, state: { runId: active.runId, status: 'converted' } });
    expect(Object.keys(ended.state).sort()).toEqual(['runId', 'status']);

    // welcome is `reentry: once`: a second signup finds the ended run and enters nothing; its row is untouched.
    clock.advance(3_600_000);
    expect((await ingest('signup-2', 'signup')).entry).toMatchObject({ events: 1, entered: 0 });
    expect(await rows(store, `SELECT run_id, status, state::text AS state FROM runs WHERE journey = 'welcome'`)).toEqual(stored);
  });

  it('reads a completed run with its state only while it can still hear its goal', async () => {
    const store = await backend.clean();
    const clock = manualClock(NOW);
    await applyConfig(store, collectConfigFiles(project), { who: 'test', project, clock });
    const [{ version }] = await rows<{ version: string }>(store, `SELECT version FROM activations WHERE active`);
    const id = 'done-1';
    await upsertCustomers(store.db, [{ id, attributes: { email: `${id}@example.com`, email_opt_in: true } }], NOW);
    const completed = (runId: string, journey: string, enteredAt: number, goalDeadline?: number) => ({
      customer_id: id,
      run_id: runId,
      journey,
      config_version: version,
      state: JSON.stringify({ runId, journey, customerId: id, status: 'completed', enteredAt, visits: {}, messages: {}, messageByStep: {}, ...(goalDeadline === undefined ? {} : { goalDeadline }) }),
      status: 'completed',
      entered_at: new Date(enteredAt),
      updated_at: new Date(enteredAt),
    });
    await store.db('runs').insert([
      // No goal: nothing can ever move it again.
      completed('thanks', 'frequent-buyer-thanks', NOW - 3 * DAY),
      // welcome's goal: 14 days from entry, one still open and one past.
      completed('open', 'welcome', NOW - 10 * DAY, NOW + 4 * DAY),
      completed('past', 'welcome', NOW - 20 * DAY, NOW - 6 * DAY),
    ]);
    const read = (goals?: readonly string[]) =>
      store.db.transaction((trx) => loadBatch(trx, ledgerWindows([project]), historyNeeds([project]), [id], clock.now(), goals ? { goalJourneys: goals } : {}));
    const byId = (runs: Awaited<ReturnType<typeof read>>['runs']) => Object.fromEntries(runs.get(id)!.map((r) => [r.runId, r.ended === true]));
    expect(goalJourneys([project])).toEqual(['browse-abandonment', 'lapsed-loyal-winback', 'rfm-winback', 'welcome']);
    // ended === true: the stub, without the state.
    expect(byId((await read(goalJourneys([project]))).runs)).toEqual({ thanks: true, open: false, past: true });
    expect((await read(goalJourneys([project]))).runs.get(id)!.find((r) => r.runId === 'open')!.state).toMatchObject({ goalDeadline: NOW + 4 * DAY, status: 'completed' });
    // Without the list, every completed run comes with its state (the deadline still decides).
    expect(byId((await read()).runs)).toEqual({ thanks: false, open: false, past: true });
  });
});
