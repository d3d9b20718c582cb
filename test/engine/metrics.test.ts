// The queue gauges on /metrics, on both backends: read from the rows at scrape time, so they follow the
// database (work another replica queued or claimed shows up at the next scrape), and a scrape while the
// database is down still answers with the last values.
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/engine/clock.js';
import { applyConfig } from '../../src/engine/config-versions.js';
import { collectConfigFiles } from '../../src/engine/config-files.js';
import { buildServer } from '../../src/engine/http/build-server.js';
import { insertEvents } from '../../src/engine/ingest/write-ingest.js';
import { loadProject } from '../../src/config/build-project.js';
import type { OpenedStore } from '../../src/engine/store/index.js';
import { makeProject } from '../support/project-fixture.js';
import { backendNames, useBackend } from './support/backends.js';

const loaded = loadProject([makeProject({})]);
if (!loaded.project) throw new Error(JSON.stringify(loaded.diagnostics));
const project = loaded.project;

/** Every sample of the text exposition: `name{labels}` → value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(herald_[a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m) out.set(m[1], Number(m[2]));
  }
  return out;
}

describe.each(backendNames())('queue gauges on %s', (name) => {
  const backend = useBackend(name);

  async function seed(store: OpenedStore, now: number): Promise<string> {
    const result = await applyConfig(store, collectConfigFiles(project), { who: 'test', project, clock: manualClock(now) });
    const version = result.version;
    const run = (id: string, wakeAt: number | null, opts: { status?: string; leaseUntil?: number } = {}) =>
      store.db.raw(
        `INSERT INTO runs (customer_id, run_id, journey, config_version, state, status, entered_at, wake_at, lease_owner, lease_until, updated_at)
         VALUES ('c1', ?, 'j', ?, '{}', ?, ?, ?, ?, ?, ?)`,
        [id, version, opts.status ?? 'active', new Date(now), wakeAt === null ? null : new Date(wakeAt), opts.leaseUntil ? 'w1' : null, opts.leaseUntil ? new Date(opts.leaseUntil) : null, new Date(now)],
      );
    await run('due-90s', now - 90_000);
    await run('due-now', now);
    await run('due-claimed', now - 300_000, { leaseUntil: now + 30_000 });
    await run('due-lease-expired', now - 10_000, { leaseUntil: now - 1 });
    await run('later', now + 60_000);
    await run('waiting-for-event', null);
    await run('done', now - 1, { status: 'completed' });
    const msg = (id: string, status: string, nextAt: number | null) =>
      store.db.raw(
        `INSERT INTO outbox (customer_id, id, channel, template, class, status, next_attempt_at, created_at, updated_at) VALUES ('c1', ?, 'email', 'hello', 'marketing', ?, ?, ?, ?)`,
        [id, status, nextAt === null ? null : new Date(nextAt), new Date(now), new Date(now)],
      );
    await msg('q-due', 'queued', now - 45_000);
    await msg('q-due-2', 'queued', now - 5_000);
    await msg('q-backoff', 'queued', now + 30_000);
    await msg('s1', 'sending', now - 1000);
    await msg('f1', 'failed', null);
    await msg('a1', 'ambiguous', null);
    await msg('a2', 'ambiguous', null);
    await msg('sent', 'sent', null);
    await insertEvents(store.db, [{ customerId: 'c1', id: 'e1', type: 'signup', ts: now - 20_000, props: {} }], now - 20_000);
    await insertEvents(store.db, [{ customerId: 'c2', id: 'e2', type: 'signup', ts: now, props: {} }], now - 2_000);
    return version;
  }

  it('reports due and active runs, the outbox per status and the lag of each queue from the rows', async () => {
    const store = await backend.clean();
    const clock = manualClock('2024-06-01T12:00:00Z');
    await seed(store, clock.now());
    const app = await buildServer({ store, token: 'tok', clock, logLevel: 'silent' });
    try {
      const scrape = async () => samples((await app.inject({ method: 'GET', url: '/metrics' })).body);
      const m = await scrape();
      // due-90s, due-now, due-lease-expired; not the one whose lease is still running.
      expect(m.get('herald_runs_due')).toBe(3);
      expect(m.get('herald_runs_active')).toBe(6);
      expect(m.get('herald_outbox_backlog{status="queued"}')).toBe(3);
      expect(m.get('herald_outbox_backlog{status="sending"}')).toBe(1);
      expect(m.get('herald_outbox_backlog{status="failed"}')).toBe(1);
      expect(m.get('herald_outbox_backlog{status="ambiguous"}')).toBe(2);
      expect(m.get('herald_claim_lag_seconds{queue="timers"}')).toBe(90);
      expect(m.get('herald_claim_lag_seconds{queue="outbox"}')).toBe(45);
      expect(m.get('herald_claim_lag_seconds{queue="events"}')).toBe(20);

      // Another replica catches up (rows change under this server); time moves on.
      await store.db.raw(`UPDATE runs SET status = 'completed', wake_at = NULL WHERE run_id IN ('due-90s', 'due-now')`);
      await store.db.raw(`UPDATE outbox SET status = 'sent' WHERE id IN ('q-due', 's1')`);
      await store.db.raw(`UPDATE events SET processed_at = ? WHERE id = 'e1'`, [new Date(clock.now())]);
      clock.advance(10_000);
      const after = await scrape();
      expect(after.get('herald_runs_due')).toBe(1);
      expect(after.get('herald_runs_active')).toBe(4);
      expect(after.get('herald_outbox_backlog{status="queued"}')).toBe(2);
      expect(after.get('herald_outbox_backlog{status="sending"}')).toBe(0);
      expect(after.get('herald_claim_lag_seconds{queue="timers"}')).toBe(20);
      expect(after.get('herald_claim_lag_seconds{queue="outbox"}')).toBe(15);
      expect(after.get('herald_claim_lag_seconds{queue="events"}')).toBe(12);

      // Everything claimed: no lag.
      await store.db.raw(`UPDATE runs SET wake_at = NULL`);
      await store.db.raw(`UPDATE outbox SET status = 'sent' WHERE status = 'queued'`);
      await store.db.raw(`UPDATE events SET processed_at = ?`, [new Date(clock.now())]);
      const idle = await scrape();
      expect(idle.get('herald_runs_due')).toBe(0);
      for (const q of ['events', 'timers', 'outbox']) expect(idle.get(`herald_claim_lag_seconds{queue="${q}"}`)).toBe(0);
    } finally {
      await app.close();
    }
  });

  it('answers a scrape while the database is down with the last values', async () => {
    const store = await backend.fresh();
    const clock = manualClock('2024-06-01T12:00:00Z');
    await seed(store, clock.now());
    const app = await buildServer({ store, token: 'tok', clock, logLevel: 'silent' });
    try {
      expect(samples((await app.inject({ method: 'GET', url: '/metrics' })).body).get('herald_runs_due')).toBe(3);
      await store.close();
      const res = await app.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(200);
      expect(samples(res.body).get('herald_runs_due')).toBe(3);
    } finally {
      await app.close();
    }
  });
});
