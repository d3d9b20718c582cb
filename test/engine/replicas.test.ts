// Two `herald engine start` processes on one PostgreSQL database, both taking ingest and both running the
// worker: they share the events, timers and sends, and nothing is processed twice — every message reaches
// its provider once and is attempted once, every run ends once. (PGlite admits one process: see store tests.)
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseMail } from '../channels/support.js';
import { makeProject } from '../support/project-fixture.js';
import { backendNames, rows, useBackend } from './support/backends.js';
import { herald } from './support/cli.js';
import { CHANNELS_WITH_FROM, startEngineProcess, startGateway, startSlowSmtp } from './support/processes.js';

const TOKEN = 'replicas';
const CUSTOMERS = 240;

const JOURNEY = `apiVersion: herald/v1
kind: Journey
metadata: { name: onboarding }
spec:
  entry: { event: signup }
  reentry: once
  class: transactional
  steps:
    - id: mail
      send: { channel: email, template: hello }
    - id: pause
      wait: 1s
    - id: text
      send: { channel: sms, template: hello }
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.runIf(backendNames().includes('postgres'))('two engine processes on one PostgreSQL', () => {
  const backend = useBackend('postgres');

  it('share events, timers and sends without processing any twice', async () => {
    const db = await backend.cliDatabase();
    const smtp = await startSlowSmtp(20);
    const gateway = await startGateway(10);
    const dir = makeProject({ 'journey.yaml': JOURNEY, 'channels.yaml': CHANNELS_WITH_FROM });
    const env = { HERALD_API_TOKEN: TOKEN, SMTP_URL: `smtp://127.0.0.1:${smtp.port}`, SMS_URL: gateway.url, SMS_TOKEN: 'gw', DATABASE_URL: '' };
    const applied = await herald(['apply', dir, ...db.args], { cwd: path.dirname(dir), env });
    expect(applied.code, applied.stderr).toBe(0);
    const engines = await Promise.all([startEngineProcess(db.args, env), startEngineProcess(db.args, env)]);

    // Batches alternate between the two engines, as a load balancer would spread them.
    for (let b = 0; b < CUSTOMERS / 10; b++) {
      const url = engines[b % 2].url;
      const ids = Array.from({ length: 10 }, (_, i) => `r${b * 10 + i}`);
      const post = (route: string, body: unknown) =>
        fetch(`${url}${route}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect((await post('/v1/customers', { customers: ids.map((id) => ({ id, attributes: { email: `${id}@example.com`, phone: `+49151${id.slice(1).padStart(6, '0')}`, first_name: 'Ren', email_opt_in: true, sms_opt_in: true } })) })).status).toBe(200);
      expect((await post('/v1/events', { events: ids.map((id) => ({ id: `signup-${id}`, customer_id: id, type: 'signup', ts: new Date().toISOString() })) })).status).toBe(200);
    }

    const store = await db.open();
    const deadline = Date.now() + 60_000;
    for (;;) {
      const [q] = await rows<{ active: number; pending: number; runs: number }>(
        store,
        `SELECT (SELECT count(*) FROM runs WHERE status = 'active')::int AS active,
                (SELECT count(*) FROM outbox WHERE status <> 'sent')::int AS pending,
                (SELECT count(*) FROM runs)::int AS runs`,
      );
      if (q.runs === CUSTOMERS && q.active === 0 && q.pending === 0) break;
      if (Date.now() > deadline) throw new Error(`not drained: ${JSON.stringify(q)}`);
      await sleep(200);
    }
    for (const e of engines) e.child.kill('SIGTERM');
    expect(await Promise.all(engines.map((e) => e.exited))).toEqual([0, 0]);

    // Each message reached its provider once: no Message-ID twice at the SMTP server, no key twice at the gateway.
    const mailIds = smtp.received.map((raw) => parseMail(raw).headers.get('message-id')?.[0]);
    expect(mailIds.length).toBe(CUSTOMERS);
    expect(new Set(mailIds).size).toBe(CUSTOMERS);
    expect(gateway.keys.length).toBe(CUSTOMERS);
    expect(gateway.accepted.size).toBe(CUSTOMERS);
    // Each message attempted once, and both engines sent some of them.
    const attempts = await rows<{ n: number; max: number; workers: number }>(store, `SELECT count(*)::int AS n, max(n)::int AS max, count(DISTINCT worker)::int AS workers FROM attempts`);
    expect(attempts).toEqual([{ n: 2 * CUSTOMERS, max: 1, workers: 2 }]);
    // Every run ended once, having stepped past its timer exactly once (one SMS each).
    expect(await rows(store, `SELECT status, count(*)::int AS n FROM runs GROUP BY status`)).toEqual([{ status: 'completed', n: CUSTOMERS }]);
    expect(await rows(store, `SELECT count(*)::int AS n FROM (SELECT customer_id FROM outbox WHERE channel = 'sms' GROUP BY customer_id HAVING count(*) <> 1) x`)).toEqual([{ n: 0 }]);
    await smtp.close();
    await gateway.close();
  }, 120_000);
});
