// Ingest throughput: events per second through POST /v1/events (batches of 500, validated against the demo
// data model, real HTTP on 127.0.0.1) against a plain batched INSERT of the same rows in the same run, on
// PGlite and on PostgreSQL. Goal: HTTP ingest within 3× of the plain INSERT (ratio ≤ 3).
// PostgreSQL: $HERALD_BENCH_DATABASE_URL, $HERALD_TEST_DATABASE_URL or the local test database, in a schema
// of its own that is dropped afterwards; skipped (with a note) when unreachable.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadProject } from '../src/config/build-project.js';
import { buildServer, insertEvents, openStore, validateEvents, type OpenedStore } from '../src/engine/index.js';

const BATCH = 500;
const BATCHES = Number(process.env.HERALD_BENCH_BATCHES ?? 40);
const TOKEN = 'bench';

interface Row {
  id: string;
  customer_id: string;
  type: string;
  ts: string;
  props: Record<string, unknown>;
}

function makeEvents(n: number, salt: string): Row[] {
  const out: Row[] = [];
  for (let i = 0; i < n; i++) {
    const customer = `c${i % 5000}`;
    const ts = new Date(Date.UTC(2024, 0, 1) + i * 1000).toISOString();
    out.push(
      i % 3 === 0
        ? { id: `${salt}-${i}`, customer_id: customer, type: 'purchase', ts, props: { order_id: `o${i}`, amount: (i % 97) + 0.5, product_ids: [`p${i % 50}`, `p${i % 7}`] } }
        : { id: `${salt}-${i}`, customer_id: customer, type: 'product_view', ts, props: { product_id: `p${i % 50}`, price: (i % 40) + 0.99 } },
    );
  }
  return out;
}

function batches<T>(rows: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += BATCH) out.push(rows.slice(i, i + BATCH));
  return out;
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function benchBackend(label: string, store: OpenedStore): Promise<void> {
  const model = loadProject(['campaigns']).project!.model;
  const n = BATCH * BATCHES;
  const truncate = () => store.db.raw('TRUNCATE events');

  // Warm-up: one batch each way, so JIT and the first connection do not count.
  const warm = makeEvents(BATCH, 'warm');
  await store.db('events').insert(warm.map((e) => ({ ...e, props: JSON.stringify(e.props), received_at: new Date() })));
  await truncate();

  // 1. The plain way: knex multi-row INSERT … VALUES of the rows as they are, no validation, no HTTP.
  const plainRows = makeEvents(n, 'plain').map((e) => ({ customer_id: e.customer_id, id: e.id, type: e.type, ts: e.ts, props: JSON.stringify(e.props), received_at: new Date() }));
  const plainSec = await timed(async () => {
    for (const b of batches(plainRows)) await store.db('events').insert(b);
  });
  await truncate();

  // 2. The ingest SQL alone (validation + unnest INSERT … ON CONFLICT DO NOTHING RETURNING), no HTTP.
  const direct = makeEvents(n, 'direct');
  const directSec = await timed(async () => {
    for (const b of batches(direct)) {
      const v = validateEvents({ events: b }, model, { maxBatch: BATCH });
      await insertEvents(store.db, v.value, Date.now());
    }
  });
  await truncate();

  // 3. Over HTTP: JSON bodies posted to a listening server, one request at a time.
  const app = await buildServer({ store, token: TOKEN, logLevel: 'silent', dataModel: () => model });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const bodies = batches(makeEvents(n, 'http')).map((b) => JSON.stringify({ events: b }));
  const post = async (body: string) => {
    const res = await fetch(`${url}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body });
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  };
  await post(JSON.stringify({ events: makeEvents(BATCH, 'warm-http') }));
  await truncate();
  const httpSec = await timed(async () => {
    for (const body of bodies) await post(body);
  });
  await truncate();
  // 4. Over HTTP with 4 requests in flight (PostgreSQL can use several connections; PGlite queues them).
  const bodies4 = batches(makeEvents(n, 'http4')).map((b) => JSON.stringify({ events: b }));
  const http4Sec = await timed(async () => {
    let next = 0;
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (next < bodies4.length) await post(bodies4[next++]);
    }));
  });
  const stored = Number((await store.db.raw('SELECT count(*)::int AS n FROM events')).rows[0].n);
  await app.close();
  if (stored !== n) throw new Error(`expected ${n} events stored, found ${stored}`);

  const rate = (sec: number) => Math.round(n / sec);
  const fmt = (x: number) => x.toLocaleString('en-US').padStart(9);
  const plain = rate(plainSec);
  console.log(`${label}: ${n.toLocaleString('en-US')} events in batches of ${BATCH}`);
  console.log(`  plain INSERT … VALUES (knex)        ${fmt(plain)}/s  (baseline)`);
  console.log(`  validate + unnest INSERT, no HTTP   ${fmt(rate(directSec))}/s  ratio ${(plain / rate(directSec)).toFixed(2)}×`);
  console.log(`  POST /v1/events, 1 in flight        ${fmt(rate(httpSec))}/s  ratio ${(plain / rate(httpSec)).toFixed(2)}× (goal ≤ 3×)`);
  console.log(`  POST /v1/events, 4 in flight        ${fmt(rate(http4Sec))}/s  ratio ${(plain / rate(http4Sec)).toFixed(2)}×`);
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'herald-bench-'));
  try {
    const lite = await openStore({ dataDir: path.join(dir, 'db') });
    try {
      await benchBackend('PGlite (on-disk data directory)', lite);
    } finally {
      await lite.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const url = process.env.HERALD_BENCH_DATABASE_URL ?? process.env.HERALD_TEST_DATABASE_URL ?? 'postgres://herald:herald@127.0.0.1:5432/herald_test';
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  let pg: OpenedStore;
  try {
    pg = await openStore({ databaseUrl: url, schema });
  } catch (error) {
    console.log(`PostgreSQL: skipped (${(error as Error).message})`);
    return;
  }
  try {
    const version = (await pg.db.raw('SHOW server_version')).rows[0].server_version as string;
    await benchBackend(`PostgreSQL ${version}`, pg);
  } finally {
    await pg.db.raw(`DROP SCHEMA "${schema}" CASCADE`);
    await pg.close();
  }
}
