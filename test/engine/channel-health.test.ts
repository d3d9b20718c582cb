// Channel health in `herald status`, on both backends: per channel, the provider calls of the last hour and
// the last 24 h (sent / failed / retried / ambiguous, read from the attempts rows), queued messages, the last
// error, and the verdict with its thresholds; as a library call and through the CLI (text and JSON).
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProject } from '../../src/config/build-project.js';
import { judgeChannelHealth } from '../../src/engine/channel-health.js';
import { manualClock } from '../../src/engine/clock.js';
import { collectConfigFiles } from '../../src/engine/config-files.js';
import { applyConfig, status } from '../../src/engine/config-versions.js';
import type { OpenedStore } from '../../src/engine/store/index.js';
import { makeProject } from '../support/project-fixture.js';
import { backendNames, useBackend } from './support/backends.js';
import { herald } from './support/cli.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const HOOK = `apiVersion: herald/v1
kind: Channel
metadata: { name: ops-hook }
spec:
  type: webhook
  address: email
  provider: { kind: webhook, url: { env: HOOK_URL }, secret: { env: HOOK_SECRET } }
`;

type Outcome = 'sent' | 'failed_retryable' | 'failed_permanent' | 'ambiguous' | 'skipped';

/** One outbox row and its attempts rows (n = 1, 2, …), each finished at the given time. */
async function message(
  store: OpenedStore,
  channel: string,
  id: string,
  status: string,
  attempts: { outcome: Outcome; at: number; error?: { code: string; message: string } }[],
): Promise<void> {
  const last = attempts.at(-1)!.at;
  await store.db.raw(
    `INSERT INTO outbox (customer_id, id, channel, template, class, status, attempts, next_attempt_at, created_at, updated_at)
     VALUES ('c1', ?, ?, 'hello', 'marketing', ?, ?, ?, ?, ?)`,
    [id, channel, status, attempts.length, new Date(last), new Date(attempts[0].at), new Date(last)],
  );
  for (const [i, a] of attempts.entries()) {
    await store.db.raw(
      `INSERT INTO attempts (customer_id, message_id, n, worker, started_at, finished_at, outcome, error) VALUES ('c1', ?, ?, 'w', ?, ?, ?, ?::jsonb)`,
      [id, i + 1, new Date(a.at - 100), new Date(a.at), a.outcome, a.error ? JSON.stringify(a.error) : null],
    );
  }
}

/** email: ok in the last hour; sms: failing on the day; push (not configured): degraded by one ambiguous; ops-hook: idle. */
async function seed(store: OpenedStore, now: number): Promise<void> {
  for (let i = 0; i < 20; i++) await message(store, 'email', `e-sent-${i}`, 'sent', [{ outcome: 'sent', at: now - (i + 1) * MIN }]);
  // Retried once 25 minutes ago, queued again for its backoff.
  await message(store, 'email', 'e-retry', 'queued', [{ outcome: 'failed_retryable', at: now - 25 * MIN, error: { code: 'smtp_451', message: '451 4.7.1 try   again\nlater' } }]);
  // Three hours ago: retried, then out of attempts: one retried and one failed.
  await message(store, 'email', 'e-gave-up', 'failed', [
    { outcome: 'failed_retryable', at: now - 4 * HOUR, error: { code: 'timeout', message: 'no greeting' } },
    { outcome: 'failed_retryable', at: now - 3 * HOUR, error: { code: 'timeout', message: 'no greeting' } },
  ]);
  // Two days ago: outside both windows, but an older error than the email's newest.
  await message(store, 'email', 'e-old', 'failed', [{ outcome: 'failed_permanent', at: now - 48 * HOUR, error: { code: 'smtp_550', message: 'no such user' } }]);
  await message(store, 'sms', 's-sent', 'sent', [{ outcome: 'sent', at: now - 5 * HOUR }]);
  await message(store, 'sms', 's-400', 'failed', [{ outcome: 'failed_permanent', at: now - 6 * HOUR, error: { code: 'http_400', message: 'HTTP 400: bad number' } }]);
  await message(store, 'sms', 's-amb', 'ambiguous', [{ outcome: 'ambiguous', at: now - 2 * HOUR, error: { code: 'timeout', message: 'no response within 10000 ms' } }]);
  for (let i = 0; i < 9; i++) await message(store, 'push', `p-${i}`, 'sent', [{ outcome: 'sent', at: now - 10 * MIN }]);
  await message(store, 'push', 'p-amb', 'ambiguous', [{ outcome: 'ambiguous', at: now - 5 * MIN, error: { code: 'connection_reset', message: 'ECONNRESET' } }]);
  // Not finished yet: counted nowhere.
  await store.db.raw(
    `INSERT INTO outbox (customer_id, id, channel, template, class, status, attempts, created_at, updated_at) VALUES ('c1', 'e-in-flight', 'email', 'hello', 'marketing', 'sending', 1, ?, ?)`,
    [new Date(now), new Date(now)],
  );
  await store.db.raw(`INSERT INTO attempts (customer_id, message_id, n, worker, started_at) VALUES ('c1', 'e-in-flight', 1, 'w', ?)`, [new Date(now)]);
}

describe('channel health verdict', () => {
  it('reads the last hour, falls back to the day, and applies the 50 % and 5 % thresholds', () => {
    const c = (sent: number, failed = 0, retried = 0, ambiguous = 0) => ({ sent, failed, retried, ambiguous });
    expect(judgeChannelHealth(c(0), c(0))).toEqual({ verdict: 'idle', basis: null });
    expect(judgeChannelHealth(c(96, 2, 2), c(0))).toEqual({ verdict: 'ok', basis: '1h' });
    expect(judgeChannelHealth(c(95, 3, 2), c(0))).toEqual({ verdict: 'degraded', basis: '1h' });
    expect(judgeChannelHealth(c(1000, 0, 0, 1), c(0))).toEqual({ verdict: 'degraded', basis: '1h' });
    expect(judgeChannelHealth(c(5, 5), c(1000))).toEqual({ verdict: 'failing', basis: '1h' });
    expect(judgeChannelHealth(c(0), c(1, 1))).toEqual({ verdict: 'failing', basis: '24h' });
  });
});

describe.each(backendNames())('channel health on %s', (name) => {
  const backend = useBackend(name);

  it('counts each channel’s attempts per window, its queued messages and last error, and judges it', async () => {
    const store = await backend.clean();
    const clock = manualClock('2024-06-01T12:00:00Z');
    const now = clock.now();
    const loaded = loadProject([makeProject({ 'hook.yaml': HOOK })]);
    await applyConfig(store, collectConfigFiles(loaded.project!), { who: 'test', project: loaded.project!, clock });
    await seed(store, now);
    const s = await status(store, { clock });
    expect(s.channels).toEqual([
      {
        channel: 'email',
        verdict: 'ok',
        basis: '1h',
        lastHour: { sent: 20, failed: 0, retried: 1, ambiguous: 0 },
        lastDay: { sent: 20, failed: 1, retried: 2, ambiguous: 0 },
        queued: 1,
        lastError: { at: new Date(now - 25 * MIN), code: 'smtp_451', message: '451 4.7.1 try   again\nlater' },
      },
      {
        channel: 'ops-hook',
        verdict: 'idle',
        basis: null,
        lastHour: { sent: 0, failed: 0, retried: 0, ambiguous: 0 },
        lastDay: { sent: 0, failed: 0, retried: 0, ambiguous: 0 },
        queued: 0,
        lastError: null,
      },
      {
        channel: 'push',
        verdict: 'degraded',
        basis: '1h',
        lastHour: { sent: 9, failed: 0, retried: 0, ambiguous: 1 },
        lastDay: { sent: 9, failed: 0, retried: 0, ambiguous: 1 },
        queued: 0,
        lastError: { at: new Date(now - 5 * MIN), code: 'connection_reset', message: 'ECONNRESET' },
      },
      {
        channel: 'sms',
        verdict: 'failing',
        basis: '24h',
        lastHour: { sent: 0, failed: 0, retried: 0, ambiguous: 0 },
        lastDay: { sent: 1, failed: 1, retried: 0, ambiguous: 1 },
        queued: 0,
        lastError: { at: new Date(now - 2 * HOUR), code: 'timeout', message: 'no response within 10000 ms' },
      },
    ]);
    // An hour later the email's good hour has passed: the day decides for the last hour's one retry.
    clock.advance(HOUR);
    const later = (await status(store, { clock })).channels.find((c) => c.channel === 'email')!;
    expect(later.lastHour).toEqual({ sent: 0, failed: 0, retried: 0, ambiguous: 0 });
    expect(later).toMatchObject({ verdict: 'degraded', basis: '24h' });
  });

  it('herald status prints each channel with its verdict, counts and last error (text and JSON)', async () => {
    const db = await backend.cliDatabase();
    const dir = makeProject({ 'hook.yaml': HOOK });
    const cwd = path.dirname(dir);
    expect((await herald(['apply', dir, ...db.args], { cwd })).code).toBe(0);
    const store = await db.open();
    // The CLI reads the system clock.
    const now = Date.now();
    await seed(store, now);
    await store.close();

    const text = await herald(['status', dir, ...db.args], { cwd });
    expect(text.code).toBe(0);
    const lines = text.stdout.split('\n');
    const at = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, (m) => (m === '.000Z' ? 'Z' : m));
    expect(lines).toContain('channels  (last 1 h | last 24 h: sent / failed / retried / ambiguous)');
    expect(lines).toContain('  email     ok        1 h 20 / 0 / 1 / 0 | 24 h 20 / 1 / 2 / 0 | 1 queued');
    expect(lines).toContain(`            last error ${at(now - 25 * MIN)} smtp_451: 451 4.7.1 try again later`);
    expect(lines).toContain('  ops-hook  idle      1 h 0 / 0 / 0 / 0 | 24 h 0 / 0 / 0 / 0 | 0 queued');
    expect(lines).toContain('  push      degraded  1 h 9 / 0 / 0 / 1 | 24 h 9 / 0 / 0 / 1 | 0 queued');
    expect(lines).toContain('  sms       failing   1 h 0 / 0 / 0 / 0 | 24 h 1 / 1 / 0 / 1 | 0 queued');
    // The oldest queued message fell due 25 min before `now`; the CLI reads the clock a little later.
    const lag = lines.map((l) => /^lag {7}outbox (\d+\.\d) min$/.exec(l)).find(Boolean);
    expect(Number(lag?.[1])).toBeGreaterThanOrEqual(25);
    expect(Number(lag?.[1])).toBeLessThan(26);

    const json = JSON.parse((await herald(['status', dir, '--format', 'json', ...db.args], { cwd })).stdout) as {
      channels: { channel: string; verdict: string; lastHour: unknown; lastError: { code: string; at: string } | null }[];
      lagSeconds: Record<string, number>;
    };
    expect(json.channels.map((c) => [c.channel, c.verdict])).toEqual([
      ['email', 'ok'],
      ['ops-hook', 'idle'],
      ['push', 'degraded'],
      ['sms', 'failing'],
    ]);
    expect(json.channels[0].lastError).toEqual({ at: new Date(now - 25 * MIN).toISOString(), code: 'smtp_451', message: '451 4.7.1 try   again\nlater' });
    expect(json.lagSeconds).toMatchObject({ events: 0, timers: 0 });
  });
});
