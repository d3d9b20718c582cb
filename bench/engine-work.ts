// The worker half of the engine bench (engine.bench.ts runs it on each backend): events entered into journeys,
// sends to an SMTP sink, and timer lateness on the real clock. Not a *.bench.ts file: run.ts does not run it alone.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import { createProvider, type ChannelProvider } from '../dist/channels/index.js';
import { loadProject } from '../dist/config/build-project.js';
import type { ChannelDef, Project } from '../dist/config/model.js';
import {
  applyConfig,
  buildServer,
  collectConfigFiles,
  ingestWithEntry,
  type EntryPhases,
  manualClock,
  processEvents,
  refitModels,
  sendOutbox,
  startEngine,
  storeProjectLoader,
  upsertCustomers,
  type OpenedStore,
} from '../dist/engine/index.js';

const TOKEN = 'bench';
const UNSUBSCRIBE_SECRET = 'bench-unsubscribe';

/** A project of its own (no quiet hours or caps, so every entry sends at once): one journey per measurement. */
const BENCH_PROJECT: Record<string, string> = {
  'herald.yaml': `apiVersion: herald/v1
kind: Project
metadata: { name: bench }
spec:
  currency: EUR
  timezone: Europe/Berlin
  customer:
    id: id
    attributes:
      email: { type: string, pii: email }
      first_name: string
      email_opt_in: bool
  events:
    signup: {}
    wait_test: {}
  links: { unsubscribe: https://shop.example/u }
`,
  'channels.yaml': `apiVersion: herald/v1
kind: Channel
metadata: { name: email }
spec:
  type: email
  address: email
  consent: email_opt_in
  from: Bench Shop <bench@shop.example>
  provider: { kind: smtp, url: { env: SMTP_URL } }
`,
  'templates.yaml': `apiVersion: herald/v1
kind: Template
metadata: { name: hello }
spec:
  email:
    subject: "Hello {{first_name}}"
    text: "Welcome, {{first_name}}! Unsubscribe: {{unsubscribe_url}}"
`,
  'journeys.yaml': `apiVersion: herald/v1
kind: Journey
metadata: { name: hello-now }
spec:
  entry: { event: signup }
  reentry: once
  steps:
    - id: hello
      send: { channel: email, template: hello }
---
apiVersion: herald/v1
kind: Journey
metadata: { name: hello-later }
spec:
  entry: { event: wait_test }
  reentry: once
  steps:
    - id: wait
      wait: 5s
    - id: hello
      send: { channel: email, template: hello }
`,
};
/** The wait of hello-later, in ms. */
const WAIT_MS = 5000;

export function benchProject(): Project {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'herald-bench-project-'));
  for (const [name, text] of Object.entries(BENCH_PROJECT)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  const loaded = loadProject([dir]);
  if (!loaded.project) throw new Error(JSON.stringify(loaded.diagnostics, null, 2));
  return loaded.project;
}

/**
 * smtp-server waits 100 ms before its greeting to catch clients that talk too early. With one connection per
 * message (smtp.ts) that pause alone caps a sender at ~9 messages/s, so the figure would measure the sink,
 * not the engine; the sink greets at once instead (the other checks of a session are unchanged).
 */
function greetAtOnce(): void {
  const proto = SMTPConnection.prototype as unknown as { init(): void; _setListeners(cb: () => void): void; connectionReady(): void };
  proto.init = function init(this: typeof proto) {
    this._setListeners(() => this.connectionReady());
  };
}

/** An SMTP server on 127.0.0.1 that accepts and discards every message, counting them. */
export async function startSmtpSink(): Promise<{ url: string; received: () => number; close(): Promise<void> }> {
  greetAtOnce();
  let received = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    // Its default reverse DNS lookup of the client costs a resolver timeout per connection here.
    disableReverseLookup: true,
    logger: false,
    closeTimeout: 50,
    onData(stream, _session, callback) {
      stream.on('end', () => {
        received++;
        callback(null, 'Ok');
      });
      stream.resume();
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  return { url: `smtp://127.0.0.1:${port}`, received: () => received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

function smtpProviders(url: string): (channel: ChannelDef) => ChannelProvider {
  const cache = new Map<string, ChannelProvider>();
  return (channel) => {
    let p = cache.get(channel.meta.name);
    if (!p) cache.set(channel.meta.name, (p = createProvider(channel, { SMTP_URL: url })));
    return p;
  };
}

export async function resetTables(store: OpenedStore): Promise<void> {
  await store.db.raw('TRUNCATE events, runs, outbox, attempts, ledger, receipts, customers, model_fits');
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

export interface EntryEvent {
  id: string;
  customer_id: string;
  type: string;
  ts: string;
  props: Record<string, unknown>;
}

/** What benchIngestWithEntry posts: events in order, the customers' profiles (made up when absent), the instant. */
export interface EntryWorkload {
  events: EntryEvent[];
  customers?: { id: string; attributes: Record<string, unknown> }[];
  /** The engine's clock while it ingests (ISO); default 2024-01-02T12:00:00Z. */
  at?: string;
  /**
   * Fit RFM and CLV on the stream's own events before it is replayed, as a daemon that has been running has
   * a fit: rfm.* and clv.* are then computed for every customer a batch evaluates (without one they are null).
   */
  fitFirst?: boolean;
}

/**
 * (a) HTTP ingest with journey entry: batches POSTed one at a time. `atIngest`: the server enters each batch in
 * its ingest transaction, as `herald engine start` does by default on PGlite (ingestWithEntry); otherwise ingest
 * only queues, and `drainers` worker loops (processEvents, as the engine's worker runs it; several are replicas
 * sharing the queue through SKIP LOCKED) drain the queue into runs, outbox and ledger rows while the POSTs go
 * on. With entry at ingest there is nothing to drain but a batch whose entry failed, so the queue is drained
 * once after the last POST rather than polled alongside (polling an empty queue every few ms is not something
 * the engine does: its worker wakes once per POST, to send what entry queued, which is the sends figure).
 * The time runs from the first POST until the queue is empty. Baseline: a plain batched INSERT of the same
 * rows in this run.
 */
export async function benchIngestWithEntry(
  store: OpenedStore,
  project: Project,
  workload: EntryWorkload,
  batch: number,
  drainers: number,
  atIngest: boolean,
): Promise<{ plainSec: number; entrySec: number; runs: number; outbox: number; batches: number; phases?: EntryPhases }> {
  const { events } = workload;
  const clock = manualClock(workload.at ?? '2024-01-02T12:00:00Z');
  await resetTables(store);
  await applyConfig(store, collectConfigFiles(project), { who: 'bench', project, clock });
  const customers =
    workload.customers ??
    [...new Set(events.map((e) => e.customer_id))].map((id, i) => ({
      id,
      attributes: { email: `${id}@example.com`, email_opt_in: true, push_opt_in: i % 2 === 0, first_name: 'Ada', timezone: 'Europe/Berlin' },
    }));
  const slices = <T>(rows: T[]) => Array.from({ length: Math.ceil(rows.length / batch) }, (_, i) => rows.slice(i * batch, (i + 1) * batch));
  for (const c of slices(customers)) await upsertCustomers(store.db, c, clock.now());

  const plainRows = events.map((e) => ({ customer_id: e.customer_id, id: `plain-${e.id}`, type: e.type, ts: e.ts, props: JSON.stringify(e.props), received_at: new Date(clock.now()) }));
  const plainSec = await timed(async () => {
    for (const b of slices(plainRows)) await store.db('events').insert(b);
  });
  if (workload.fitFirst && !(await refitModels({ store, projects: storeProjectLoader(store), clock }))) throw new Error('no model fit');
  await store.db.raw('TRUNCATE events');

  const projects = storeProjectLoader(store);
  // Seconds per phase over every entry transaction (the engine's herald_ingest_entry_phase_seconds).
  const phases: EntryPhases = { insert: 0, read: 0, step: 0, write: 0, commit: 0 };
  const add = (seconds: EntryPhases) => {
    for (const k of Object.keys(phases) as (keyof EntryPhases)[]) phases[k] += seconds[k];
  };
  const storeEvents = atIngest ? async (evs: Parameters<typeof ingestWithEntry>[1], at: number) => (await ingestWithEntry({ store, projects, clock, phases: add }, evs, at)).outcomes : undefined;
  const app = await buildServer({ store, token: TOKEN, clock, logLevel: 'silent', dataModel: () => project.model, storeEvents });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const bodies = slices(events).map((b) => JSON.stringify({ events: b }));
  let ingesting = true;
  let ingested!: () => void;
  const posted = new Promise<void>((resolve) => (ingested = resolve));
  const entrySec = await timed(async () => {
    const drain = Promise.all(
      Array.from({ length: drainers }, async () => {
        if (atIngest) await posted;
        for (;;) {
          const r = await processEvents({ store, projects, clock });
          if (r.events === 0 && !ingesting) return;
          if (r.events === 0) await new Promise((resolve) => setTimeout(resolve, 5));
        }
      }),
    );
    try {
      for (const body of bodies) {
        const res = await fetch(`${url}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body });
        if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
        await res.arrayBuffer();
      }
    } finally {
      ingesting = false;
      ingested();
    }
    await drain;
  });
  await app.close();
  const count = async (sql: string) => Number((await store.db.raw(sql)).rows[0].n);
  const left = await count('SELECT count(*)::int AS n FROM events WHERE processed_at IS NULL');
  if (left !== 0) throw new Error(`${left} events left unprocessed`);
  return {
    plainSec,
    entrySec,
    runs: await count('SELECT count(*)::int AS n FROM runs'),
    outbox: await count('SELECT count(*)::int AS n FROM outbox'),
    batches: bodies.length,
    phases: atIngest ? phases : undefined,
  };
}

/**
 * (b) Sends per second to a local SMTP sink through the engine's send path (sendOutbox: claim, attempts row,
 * render, nodemailer with one connection per message, record), `senders` loops at once (replicas or ticks).
 */
export async function benchSends(store: OpenedStore, project: Project, messages: number, senders: number): Promise<{ sec: number; sent: number; received: number }> {
  const clock = manualClock('2024-01-02T12:00:00Z');
  const sink = await startSmtpSink();
  try {
    await resetTables(store);
    await applyConfig(store, collectConfigFiles(project), { who: 'bench', project, clock });
    const ids = Array.from({ length: messages }, (_, i) => `s${i}`);
    for (let i = 0; i < ids.length; i += 500) {
      await upsertCustomers(store.db, ids.slice(i, i + 500).map((id) => ({ id, attributes: { email: `${id}@example.com`, email_opt_in: true, first_name: 'Ada' } })), clock.now());
      await store.db.raw(
        `INSERT INTO events (customer_id, id, type, ts, props, received_at) SELECT c, 'signup', 'signup', ?, '{}'::jsonb, ? FROM unnest(?::text[]) AS c`,
        [new Date(clock.now()), new Date(clock.now()), ids.slice(i, i + 500)],
      );
    }
    const projects = storeProjectLoader(store);
    while ((await processEvents({ store, projects, clock, batchSize: 500 })).events > 0);
    const queued = Number((await store.db.raw(`SELECT count(*)::int AS n FROM outbox WHERE status = 'queued'`)).rows[0].n);
    if (queued !== messages) throw new Error(`expected ${messages} queued messages, found ${queued}`);
    const providers = smtpProviders(sink.url);
    let sent = 0;
    const sec = await timed(async () => {
      await Promise.all(
        Array.from({ length: senders }, async (_, w) => {
          for (;;) {
            const r = await sendOutbox({ store, projects, clock, providers, worker: `bench-${w}`, batchSize: 50, unsubscribeSecret: UNSUBSCRIBE_SECRET });
            sent += r.sent;
            if (r.claimed === 0) return;
          }
        }),
      );
    });
    return { sec, sent, received: sink.received() };
  } finally {
    await sink.close();
  }
}

/**
 * (c) Timer lateness under steady load, on the real clock: for `seconds`, `perSecond` events a second are
 * POSTed to a running engine (its worker on `intervalMs`, woken by ingest, sending to an SMTP sink); each
 * enters hello-later, whose 5 s wait falls due while the load goes on. Lateness of a run = when its timer
 * step ran (the created_at of the message the step queued) − its wake_at (entry + 5 s).
 */
export async function benchTimerLateness(store: OpenedStore, project: Project, opts: { seconds: number; perSecond: number; intervalMs: number }): Promise<{ runs: number; p50: number; p99: number; max: number; sent: number }> {
  const sink = await startSmtpSink();
  await resetTables(store);
  await applyConfig(store, collectConfigFiles(project), { who: 'bench', project });
  const engine = await startEngine({
    store,
    token: TOKEN,
    port: 0,
    logLevel: 'silent',
    configPollMs: 0,
    worker: { providers: smtpProviders(sink.url), intervalMs: opts.intervalMs, unsubscribeSecret: UNSUBSCRIBE_SECRET },
  });
  try {
    const post = async (route: string, body: unknown) => {
      const res = await fetch(`${engine.url}${route}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    };
    const total = opts.seconds * opts.perSecond;
    const ids = Array.from({ length: total }, (_, i) => `t${i}`);
    for (let i = 0; i < ids.length; i += 1000) {
      await post('/v1/customers', { customers: ids.slice(i, i + 1000).map((id) => ({ id, attributes: { email: `${id}@example.com`, email_opt_in: true, first_name: 'Ada' } })) });
    }
    // Steady load: a batch every 100 ms, on schedule (not after the previous one), so load does not slow itself.
    const started = Date.now();
    const tick = 100;
    const perTick = Math.max(1, Math.round((opts.perSecond * tick) / 1000));
    for (let sent = 0, k = 0; sent < total; k++) {
      const due = started + k * tick;
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
      const slice = ids.slice(sent, sent + perTick);
      sent += slice.length;
      await post('/v1/events', { events: slice.map((id) => ({ id: `w-${id}`, customer_id: id, type: 'wait_test', ts: new Date().toISOString(), props: {} })) });
    }
    // Until every timer has fired (the last one falls due WAIT_MS after the last entry).
    const deadline = Date.now() + WAIT_MS + 60_000;
    for (;;) {
      const open = Number((await store.db.raw(`SELECT count(*)::int AS n FROM runs WHERE status = 'active'`)).rows[0].n);
      const entered = Number((await store.db.raw(`SELECT count(*)::int AS n FROM runs`)).rows[0].n);
      if (entered === total && open === 0) break;
      if (Date.now() > deadline) throw new Error(`timers still pending after the deadline: ${open} active, ${entered} entered`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const lateness = (
      await store.db.raw(
        `SELECT extract(epoch FROM (o.created_at - (r.entered_at + ? * interval '1 millisecond')))::float8 AS late
           FROM runs r JOIN outbox o ON o.customer_id = r.customer_id AND o.run_id = r.run_id`,
        [WAIT_MS],
      )
    ).rows.map((r: { late: number }) => Number(r.late)) as number[];
    lateness.sort((a, b) => a - b);
    const q = (p: number) => lateness[Math.min(lateness.length - 1, Math.floor(p * lateness.length))];
    return { runs: lateness.length, p50: q(0.5), p99: q(0.99), max: lateness[lateness.length - 1], sent: sink.received() };
  } finally {
    await engine.close();
    await sink.close();
  }
}
