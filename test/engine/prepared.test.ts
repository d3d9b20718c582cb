// The batch statements prepared by name (store/prepared.ts): entry at ingest gives the same rows whether they
// are prepared or sent unnamed (HERALD_PG_PREPARED=off, for poolers that cannot keep prepared statements), and
// on PGlite, where the statements go over the wire protocol, the session holds them only when prepared. The
// batch read goes unnamed straight to the transaction's connection (runUnnamed) and leaves nothing named.
// (On PostgreSQL the pool hands statements to several connections, so the session check is PGlite's.)
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadProject } from '../../src/config/build-project.js';
import { isHeldOut } from '../../src/core/journey-step.js';
import { manualClock } from '../../src/engine/clock.js';
import { collectConfigFiles } from '../../src/engine/config-files.js';
import { applyConfig } from '../../src/engine/config-versions.js';
import { upsertCustomers } from '../../src/engine/ingest/write-ingest.js';
import { runUnnamed } from '../../src/engine/store/prepared.js';
import type { OpenedStore } from '../../src/engine/store/index.js';
import { ingestWithEntry, storeProjectLoader } from '../../src/engine/worker/index.js';
import { backendNames, rows, useBackend } from './support/backends.js';

const loaded = loadProject([path.resolve('campaigns')]);
if (!loaded.project) throw new Error('campaigns/ does not load');
const project = loaded.project;
const welcome = project.journeys.get('welcome')!;
const NOW = Date.parse('2024-03-04T10:00:00Z');

afterEach(() => {
  delete process.env.HERALD_PG_PREPARED;
});

describe.each(backendNames())('prepared batch statements, on %s', (name) => {
  const backend = useBackend(name);

  /** Two batches for the same customers: a signup each (welcome), then views; new, then held histories, so neither reads one. */
  async function enter(store: OpenedStore) {
    const clock = manualClock(NOW);
    await applyConfig(store, collectConfigFiles(project), { who: 'test', project, clock });
    const ids = Array.from({ length: 30 }, (_, i) => `p${i}`).filter((id) => !isHeldOut(welcome, id)).slice(0, 5);
    await upsertCustomers(store.db, ids.map((id) => ({ id, attributes: { email: `${id}@example.com`, email_opt_in: true } })), NOW);
    const projects = storeProjectLoader(store);
    await ingestWithEntry({ store, projects, clock }, ids.map((id) => ({ customerId: id, id: `s-${id}`, type: 'signup', ts: NOW, props: {} })), NOW);
    const views = ids.map((id) => ({ customerId: id, id: `v-${id}`, type: 'product_view', ts: NOW, props: { product_id: 'P0001', price: 5 } }));
    const second = await ingestWithEntry({ store, projects, clock }, views, NOW);
    expect(second.entry?.events).toBe(ids.length);
    return {
      runs: await rows(store, `SELECT customer_id, run_id, journey, status FROM runs ORDER BY 1, 2`),
      outbox: await rows(store, `SELECT customer_id, id, template FROM outbox ORDER BY 1, 2`),
      statements: await rows<{ name: string }>(store, `SELECT name FROM pg_prepared_statements WHERE name LIKE 'herald\\_%' ORDER BY 1`),
    };
  }

  it('runs a statement unnamed in a transaction and outside one, with the same rows, leaving nothing prepared', async () => {
    const store = await backend.fresh();
    const sql = `SELECT x, ?::text AS tag FROM unnest(?::int[]) AS x WHERE x > ? ORDER BY x`;
    const inside = await store.db.transaction((trx) => runUnnamed<{ x: number; tag: string }>(trx, 'test_unnamed', sql, ['t', [3, 1, 2], 1]));
    expect(inside.rows).toEqual([
      { x: 2, tag: 't' },
      { x: 3, tag: 't' },
    ]);
    const again = await store.db.transaction((trx) => runUnnamed<{ x: number }>(trx, 'test_unnamed', sql, ['u', [5], 0]));
    expect(again.rows).toEqual([{ x: 5, tag: 'u' }]);
    const outside = await runUnnamed(store.db, 'test_unnamed', sql, ['t', [3, 1, 2], 1]);
    expect(outside.rows).toEqual(inside.rows);
    // A key names one text: another text under it is a programming error, refused before it reaches the database.
    await expect(store.db.transaction((trx) => runUnnamed(trx, 'test_unnamed', `SELECT ?::int AS y`, [1]))).rejects.toThrow(/text changed/);
    // Without a key the text may vary.
    expect((await store.db.transaction((trx) => runUnnamed(trx, null, `SELECT ?::int AS y`, [1]))).rows).toEqual([{ y: 1 }]);
    if (name === 'pglite') expect(await rows(store, `SELECT name FROM pg_prepared_statements`)).toEqual([]);
  });

  it('enters the same with statements prepared and unnamed', async () => {
    const on = await enter(await backend.fresh());
    process.env.HERALD_PG_PREPARED = 'off';
    const off = await enter(await backend.fresh());
    expect(on.runs.length).toBeGreaterThan(0);
    expect(off.runs).toEqual(on.runs);
    expect(off.outbox).toEqual(on.outbox);
    if (name === 'pglite') {
      // The batch read is never named (runUnnamed): it is planned for its arrays each time.
      expect(on.statements.map((s) => s.name)).toEqual(['herald_insert_locked', 'herald_run_writes']);
      expect(off.statements).toEqual([]);
    }
  });
});
