// The engine's figures, on PGlite and on PostgreSQL (DESIGN §6, the engine issue's goals):
//  1. Ingest: events per second through POST /v1/events (batches of 500, validated against the demo data
//     model, real HTTP on 127.0.0.1) against a plain batched INSERT of the same rows in the same run.
//  2. Ingest with journey entry (demo campaigns): the same, entered in the ingest transaction or by the worker
//     draining the queue, over the bundled sample's events in time order and two synthetic stress mixes; the
//     time covers ingest and the drain. Goal: within 3× of the plain INSERT on the sample with entry at ingest
//     (the default), in the median of three passes; the stress mixes print their ratio and where a batch's
//     time goes (the engine's phase timings), without a verdict.
//  3. Sends per second to a local SMTP sink through the engine's send path (engine-work.ts).
//  4. Timer lateness p50/p99 under steady load on the real clock. Goal: p99 ≤ 2 s.
// The engine is measured as `herald engine` runs it: the compiled dist/ (`npm run bench` builds it first), not
// through tsx, whose transform (keepNames) wraps every closure the journey steps create in a defineProperty call.
// PostgreSQL: $HERALD_BENCH_DATABASE_URL, $HERALD_TEST_DATABASE_URL or the local test database, in a schema
// of its own that is dropped afterwards; skipped (with a note) when unreachable.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadProject } from '../dist/config/build-project.js';
import { buildServer, insertEvents, openStore, validateEvents, type OpenedStore } from '../dist/engine/index.js';
import { benchIngestWithEntry, benchProject, benchSends, benchTimerLateness, type EntryEvent, type EntryWorkload } from './engine-work.js';
import type { EntryPhases } from '../dist/engine/worker/index.js';
import { sampleWorkload } from './sample-stream.js';

const BATCH = 500;
const BATCHES = Number(process.env.HERALD_BENCH_BATCHES ?? 40);
const ENTRY_EVENTS = Number(process.env.HERALD_BENCH_ENTRY_EVENTS ?? 10000);
/** Passes of each ingest-with-entry measurement; the median is reported. */
const ENTRY_PASSES = Number(process.env.HERALD_BENCH_ENTRY_PASSES ?? 3);
const SENDS = Number(process.env.HERALD_BENCH_SENDS ?? 1000);
const TIMER_SECONDS = Number(process.env.HERALD_BENCH_TIMER_SECONDS ?? 15);
const TIMER_RATE = Number(process.env.HERALD_BENCH_TIMER_RATE ?? 50);
const WORKER_INTERVAL_MS = 1000;
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

/** One signup per customer first (each enters the welcome journey), then their views and purchases. */
function makeEntryEvents(n: number, customers: number): EntryEvent[] {
  const out: EntryEvent[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % customers;
    const ts = new Date(Date.UTC(2024, 0, 1) + i * 1000).toISOString();
    const product = `P${String((i % 50) + 1).padStart(4, '0')}`;
    if (i < customers) out.push({ id: `x-${i}`, customer_id: `c${c}`, type: 'signup', ts, props: {} });
    else if (i % 3 === 0) out.push({ id: `x-${i}`, customer_id: `c${c}`, type: 'purchase', ts, props: { order_id: `o${i}`, amount: (i % 97) + 0.5, product_ids: [product] } });
    else out.push({ id: `x-${i}`, customer_id: `c${c}`, type: 'product_view', ts, props: { product_id: product, price: (i % 40) + 0.99 } });
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
  console.log(`  validate + INSERT, no HTTP         ${fmt(rate(directSec))}/s  ratio ${(plain / rate(directSec)).toFixed(2)}×`);
  console.log(`  POST /v1/events, 1 in flight        ${fmt(rate(httpSec))}/s  ratio ${(plain / rate(httpSec)).toFixed(2)}× (goal ≤ 3×)`);
  console.log(`  POST /v1/events, 4 in flight        ${fmt(rate(http4Sec))}/s  ratio ${(plain / rate(http4Sec)).toFixed(2)}×`);
}

const met = (ok: boolean) => (ok ? 'met' : 'NOT met');

/** Each phase's total seconds over a pass, as milliseconds per batch. */
function perBatchMs(totalSec: EntryPhases, batches: number): EntryPhases {
  const out = { ...totalSec };
  for (const k of Object.keys(out) as (keyof EntryPhases)[]) out[k] = (out[k] * 1000) / batches;
  return out;
}

/**
 * A median entry-at-ingest pass per batch, from the engine's own phase timings (milliseconds per batch): what
 * the request spent outside its transaction (HTTP, parsing, validation, answering), each phase inside it,
 * and the ratio the pass would have had with no read at all: the most any cache of the customers' runs,
 * consents and sends could take off.
 */
function phaseLine(batchMs: number, plainBatchMs: number, phasesMs: EntryPhases): string {
  const inside = Object.values(phasesMs).reduce((x, y) => x + y, 0);
  const parts = [`request ${(batchMs - inside).toFixed(1)}`, ...Object.entries(phasesMs).map(([k, v]) => `${k} ${v.toFixed(1)}`)];
  return `per batch: ${batchMs.toFixed(1)} ms = ${parts.join(' + ')}; baseline ${plainBatchMs.toFixed(1)} ms; with no read ${((batchMs - phasesMs.read) / plainBatchMs).toFixed(1)}×`;
}

async function benchWorker(store: OpenedStore): Promise<void> {
  const fmt = (x: number) => Math.round(x).toLocaleString('en-US').padStart(9);
  const demo = loadProject(['campaigns']).project!;
  // Three streams: the bundled sample's events in time order (sessions, newsletters, histories as deep as a
  // small shop's), and two synthetic mixes that touch 500 different customers in every batch of 500: every
  // customer new (a signup each, so a quarter of the events enter a journey and queue an email), and mostly
  // known customers browsing (a signup in twenty events).
  // The sample's RFM and CLV are fitted on its own events first: a daemon that has been running has a fit, and
  // then every segment reading rfm.* or clv.* is computed for each customer a batch touches.
  const sample = { ...sampleWorkload(demo), fitFirst: true };
  // The goal is judged on the sample, the stream a shop sends; the synthetic mixes are stress cases, each
  // customer once in a batch of 500, where entry reads and steps a customer per event instead of per visit.
  const streams: { title: string; workload: EntryWorkload; moreDrainers: boolean; goal: boolean }[] = [
    {
      title: `the bundled sample: ${sample.events.length.toLocaleString('en-US')} events of ${sample.customers!.length.toLocaleString('en-US')} customers in time order (samples/demo-shop, demo campaigns, RFM/CLV fitted)`,
      workload: sample,
      moreDrainers: false,
      goal: true,
    },
    ...[4, 20].map((perCustomer) => {
      const customers = Math.ceil(ENTRY_EVENTS / perCustomer);
      return {
        title: `stress mix: ${ENTRY_EVENTS.toLocaleString('en-US')} synthetic events of ${customers.toLocaleString('en-US')} customers (a signup each, then views and purchases; demo campaigns)`,
        workload: { events: makeEntryEvents(ENTRY_EVENTS, customers) },
        moreDrainers: perCustomer === 4,
        goal: false,
      };
    }),
  ];
  // Warm-up, not counted, as for the plain INSERT above: a short synthetic stream through both paths, so that
  // JIT compilation and the database's first plans of the entry statements do not fall on the first stream
  // measured. Every stream still starts with the engine's kept histories empty (a loader of its own).
  for (const atIngest of [true, false]) await benchIngestWithEntry(store, demo, { events: makeEntryEvents(2_000, 100) }, BATCH, 1, atIngest);
  for (const { title, workload, moreDrainers, goal } of streams) {
    console.log(`  with journey entry: ${title}, one POST at a time`);
    // PGlite has one connection: a second worker loop would only queue behind the first.
    const modes: { atIngest: boolean; drainers: number }[] = [{ atIngest: true, drainers: 1 }, { atIngest: false, drainers: 1 }];
    if (moreDrainers && store.backend === 'postgres') modes.push({ atIngest: false, drainers: 4 });
    for (const { atIngest, drainers } of modes) {
      // Several passes, each with its own baseline measured just before it: on a shared machine one pass can
      // be a third slower or faster than the next, the baseline as much as the entry path, so the figure is
      // the median pass (by ratio) and the range shows the spread.
      const n = workload.events.length;
      const passes: { plainRate: number; entryRate: number; ratio: number; runs: number; outbox: number; batchMs: number; plainBatchMs: number; phases?: EntryPhases }[] = [];
      for (let p = 0; p < ENTRY_PASSES; p++) {
        const entry = await benchIngestWithEntry(store, demo, workload, BATCH, drainers, atIngest);
        const plainRate = n / entry.plainSec;
        const entryRate = n / entry.entrySec;
        passes.push({
          plainRate,
          entryRate,
          ratio: plainRate / entryRate,
          runs: entry.runs,
          outbox: entry.outbox,
          batchMs: (entry.entrySec * 1000) / entry.batches,
          plainBatchMs: (entry.plainSec * 1000) / entry.batches,
          phases: entry.phases && perBatchMs(entry.phases, entry.batches),
        });
      }
      const byRatio = [...passes].sort((a, b) => a.ratio - b.ratio);
      const median = byRatio[(byRatio.length - 1) >> 1];
      const range = byRatio.length > 1 ? ` (passes ${byRatio.map((x) => x.ratio.toFixed(1)).join(', ')}×)` : '';
      // The engine's default, entry at ingest (engine.ts), is what the goal is about; queued entry is the
      // engine's other mode (entryAtIngest: false), shown for comparison.
      const label = atIngest ? 'POST, entry at ingest (default)' : `POST, queued; ${drainers} worker${drainers > 1 ? 's' : ''} drain`;
      const verdict = goal && atIngest ? ` (goal ≤ 3×: ${met(median.ratio <= 3)})` : '';
      console.log(`    plain INSERT … VALUES (knex)              ${fmt(median.plainRate)}/s  (baseline)`);
      console.log(
        `    ${label.padEnd(41)} ${fmt(median.entryRate)}/s  ratio ${median.ratio.toFixed(1)}×${range}${verdict}; ${median.runs.toLocaleString('en-US')} runs, ${median.outbox.toLocaleString('en-US')} messages queued`,
      );
      if (median.phases) console.log(`      ${phaseLine(median.batchMs, median.plainBatchMs, median.phases)}`);
    }
  }

  const project = benchProject();
  for (const senders of [1, 4]) {
    const s = await benchSends(store, project, SENDS, senders);
    if (s.sent !== SENDS || s.received !== SENDS) throw new Error(`sent ${s.sent}, the sink received ${s.received}, expected ${SENDS}`);
    console.log(`  sends to a local SMTP sink, ${senders} sender${senders > 1 ? 's' : ' '}     ${fmt(SENDS / s.sec)}/s  (${SENDS.toLocaleString('en-US')} emails through sendOutbox + nodemailer, a connection each)`);
  }

  const t = await benchTimerLateness(store, project, { seconds: TIMER_SECONDS, perSecond: TIMER_RATE, intervalMs: WORKER_INTERVAL_MS });
  const s = (x: number) => `${x.toFixed(2)} s`;
  console.log(
    `  timer lateness, ${t.runs.toLocaleString('en-US')} runs (${TIMER_RATE}/s entering for ${TIMER_SECONDS} s, 5 s waits, worker every ${WORKER_INTERVAL_MS} ms, real clock): p50 ${s(t.p50)}  p99 ${s(t.p99)}  max ${s(t.max)} (goal p99 ≤ 2 s: ${met(t.p99 <= 2)})`,
  );
}

/**
 * Each backend in a process of its own, as an engine runs one: PGlite's WebAssembly instance leaves the
 * process slower after it is closed (the PostgreSQL sample stream measured 24–27 ms a batch after the PGlite
 * part in the same process, 19–21 ms alone), which would charge one backend's figures with the other's.
 */
export async function run(): Promise<void> {
  const only = process.env.HERALD_BENCH_ENGINE_BACKEND;
  if (only === 'pglite') return runPglite();
  if (only === 'postgres') return runPostgres();
  for (const backend of ['pglite', 'postgres']) {
    const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(new URL('./run.ts', import.meta.url)), 'engine.bench'], {
      stdio: 'inherit',
      env: { ...process.env, HERALD_BENCH_ENGINE_BACKEND: backend, HERALD_BENCH_CHILD: '1' },
    });
    if (child.status !== 0) throw new Error(`the ${backend} engine bench exited with ${child.status}`);
  }
}

async function runPglite(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'herald-bench-'));
  try {
    const lite = await openStore({ dataDir: path.join(dir, 'db') });
    try {
      await benchBackend('PGlite (on-disk data directory)', lite);
      await benchWorker(lite);
    } finally {
      await lite.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runPostgres(): Promise<void> {
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
    await benchWorker(pg);
  } finally {
    await pg.db.raw(`DROP SCHEMA "${schema}" CASCADE`);
    await pg.close();
  }
}
