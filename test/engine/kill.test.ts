// The engine killed with SIGKILL at random points while customers, events and receipts flow in over HTTP,
// then restarted, several times; finally drained and stopped. On both backends, as a real process:
// - no accepted event (or receipt) is lost: everything acknowledged with 200 is stored and processed;
// - nobody enters twice; SMTP (not idempotent) never receives one message twice: a send cut off by the
//   kill is marked ambiguous, not resent; the SMS gateway (idempotent, Idempotency-Key) gets every message
//   and accepts each once, even when a cut-off send is retried;
// - ambiguous sends are counted: `herald status` reports as many as the rows hold.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { messageIdFor } from '../../src/channels/smtp.js';
import { signWebhookBody } from '../../src/channels/webhook-signature.js';
import { parseMail } from '../channels/support.js';
import { makeProject } from '../support/project-fixture.js';
import { backendNames, rows, useBackend } from './support/backends.js';
import { herald } from './support/cli.js';
import { prng } from '../support/prng.js';
import { CHANNELS_WITH_FROM, startEngineProcess, startGateway, startSlowSmtp } from './support/processes.js';

const TOKEN = 'kill-test';
const RECEIPT_SECRET = 'whsec-kill';

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
    - id: text
      send: { channel: sms, template: hello }
    - id: wait-delivery
      wait: { for: { message: text, status: delivered }, timeout: 1d }
      on_timeout: done
      on_event: done
    - id: done
      exit: true
`;

/** Enough traffic to be cut at every kill point, little enough to drain in seconds. */
const MAX_CUSTOMERS = 250;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const name of backendNames()) {
  describe(`SIGKILL while traffic flows, on ${name}`, () => {
    const backend = useBackend(name);

    it('loses no accepted event or receipt, enters nobody twice, never sends twice where it cannot dedupe, counts ambiguous sends', async () => {
      const seed = Number(process.env.HERALD_KILL_SEED ?? Date.now() % 100000);
      console.log(`kill test seed ${seed} (HERALD_KILL_SEED to replay)`);
      const random = prng(seed);
      const db = await backend.cliDatabase();
      const smtp = await startSlowSmtp(150);
      const gateway = await startGateway(100);
      const dir = makeProject({ 'journey.yaml': JOURNEY, 'channels.yaml': CHANNELS_WITH_FROM });
      const env = {
        HERALD_API_TOKEN: TOKEN,
        HERALD_RECEIPT_SECRET_SMS: RECEIPT_SECRET,
        SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
        SMS_URL: gateway.url,
        SMS_TOKEN: 'gw',
        DATABASE_URL: '',
      };
      const applied = await herald(['apply', dir, ...db.args], { cwd: path.dirname(dir), env });
      expect(applied.code, applied.stderr).toBe(0);

      const acceptedEvents = new Set<string>();
      const acceptedReceipts = new Set<string>();
      let engine = await startEngineProcess(db.args, env);
      const post = async (route: string, body: unknown, headers: Record<string, string> = {}) => {
        const text = JSON.stringify(body);
        try {
          const res = await fetch(`${engine.url}${route}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers }, body: text, signal: AbortSignal.timeout(5000) });
          await res.text();
          return res.status;
        } catch {
          return 0; // the engine is down (killed): the client keeps the batch and retries
        }
      };

      // A client as a shop would write it: batches of customers + signups, re-posted until acknowledged;
      // delivery receipts for the SMS the gateway accepted, re-posted until acknowledged.
      let next = 0;
      let stopFeeding = false;
      const pendingReceipts = new Set<string>();
      const feeder = (async () => {
        let batch: number[] = [];
        while (!stopFeeding) {
          if (batch.length === 0 && next < MAX_CUSTOMERS) batch = Array.from({ length: 5 + Math.floor(random() * 10) }, () => next++);
          const customers = batch.map((i) => ({ id: `k${i}`, attributes: { email: `k${i}@example.com`, phone: `+4915100${String(i).padStart(5, '0')}`, first_name: 'Kim', email_opt_in: true, sms_opt_in: true } }));
          const events = batch.map((i) => ({ id: `signup-${i}`, customer_id: `k${i}`, type: 'signup', ts: new Date().toISOString() }));
          if (batch.length && (await post('/v1/customers', { customers })) === 200 && (await post('/v1/events', { events })) === 200) {
            for (const e of events) acceptedEvents.add(e.id);
            batch = [];
          }
          for (const key of gateway.accepted) if (!acceptedReceipts.has(key)) pendingReceipts.add(key);
          const receipts = [...pendingReceipts].slice(0, 50).map((key) => ({ id: `dlr-${key}`, message_id: key, status: 'delivered', at: new Date().toISOString() }));
          if (receipts.length) {
            const body = JSON.stringify({ receipts });
            const status = await post('/v1/receipts/sms', JSON.parse(body), { 'herald-signature': signWebhookBody(body, RECEIPT_SECRET, Date.now()) });
            if (status === 200 || status === 202) for (const r of receipts) (acceptedReceipts.add(r.message_id), pendingReceipts.delete(r.message_id));
          }
          await sleep(20);
        }
      })();

      // Kill at random points, and twice at the worst ones: an email's data written and its answer pending
      // (the SMTP session cannot tell whether it was taken), an SMS request out and its answer pending.
      const hit = { mail: false, sms: false };
      const within = (p: Promise<void>, what: keyof typeof hit) => Promise.race([p.then(() => void (hit[what] = true)), sleep(20_000)]);
      const killPoints: (() => Promise<unknown>)[] = [
        () => sleep((name === 'pglite' ? 1500 : 500) + Math.floor(random() * 1500)),
        () => within(smtp.nextMessage(), 'mail'),
        () => sleep(300 + Math.floor(random() * 1200)),
        () => within(gateway.nextRequest(), 'sms'),
      ];
      for (const point of killPoints) {
        await point();
        engine.child.kill('SIGKILL');
        await engine.exited;
        engine = await startEngineProcess(db.args, env);
      }
      await sleep(500);
      stopFeeding = true;
      await feeder;

      // Drain: everything accepted gets processed; sends cut off by a kill wait out their lease (1.5 s). The
      // engine is stopped (SIGTERM) to look at the store: PGlite admits one process at a time.
      const deadline = Date.now() + 90_000;
      const postLateReceipts = async () => {
        const late = [...gateway.accepted].filter((k) => !acceptedReceipts.has(k)).slice(0, 100);
        if (!late.length) return;
        const body = JSON.stringify({ receipts: late.map((key) => ({ id: `dlr-${key}`, message_id: key, status: 'delivered', at: new Date().toISOString() })) });
        const status = await post('/v1/receipts/sms', JSON.parse(body), { 'herald-signature': signWebhookBody(body, RECEIPT_SECRET, Date.now()) });
        if (status === 200 || status === 202) late.forEach((k) => acceptedReceipts.add(k));
        else if (process.env.HERALD_KILL_DEBUG) console.log(`receipts answered ${status}`);
      };
      let store: Awaited<ReturnType<typeof db.open>>;
      for (;;) {
        await sleep(1500);
        for (let i = 0; i < 20 && [...gateway.accepted].some((k) => !acceptedReceipts.has(k)); i++) await postLateReceipts();
        await sleep(1000);
        engine.child.kill('SIGTERM');
        expect(await engine.exited).toBe(0);
        store = await db.open();
        const [q] = await rows<{ events: number; receipts: number; outbox: number; waiting: number }>(
          store,
          `SELECT (SELECT count(*) FROM events WHERE processed_at IS NULL)::int AS events,
                  (SELECT count(*) FROM receipts WHERE processed_at IS NULL)::int AS receipts,
                  (SELECT count(*) FROM outbox WHERE status IN ('queued', 'sending'))::int AS outbox,
                  (SELECT count(*) FROM runs r WHERE status = 'active' AND EXISTS (
                     SELECT 1 FROM outbox o WHERE o.customer_id = r.customer_id AND o.run_id = r.run_id AND o.channel = 'sms' AND o.status = 'sent'))::int AS waiting`,
        );
        const unposted = [...gateway.accepted].filter((k) => !acceptedReceipts.has(k)).length;
        if (process.env.HERALD_KILL_DEBUG) console.log(new Date().toISOString(), JSON.stringify(q), unposted);
        if (q.events === 0 && q.receipts === 0 && q.outbox === 0 && q.waiting === 0 && unposted === 0) break;
        if (Date.now() > deadline) throw new Error(`not drained: ${JSON.stringify(q)}, ${unposted} receipts not posted\n${engine.log().slice(-4000)}`);
        await store.close();
        engine = await startEngineProcess(db.args, env);
      }

      expect(hit).toEqual({ mail: true, sms: true }); // the worst kill points were reached
      expect(acceptedEvents.size).toBeGreaterThan(10);
      // 1. Every acknowledged event is stored and processed; every acknowledged receipt is stored.
      const storedEvents = new Set((await rows<{ id: string }>(store, `SELECT id FROM events WHERE processed_at IS NOT NULL`)).map((r) => r.id));
      expect([...acceptedEvents].filter((id) => !storedEvents.has(id))).toEqual([]);
      const storedReceipts = new Set((await rows<{ message_id: string }>(store, `SELECT message_id FROM receipts WHERE processed_at IS NOT NULL`)).map((r) => r.message_id));
      expect([...acceptedReceipts].filter((id) => !storedReceipts.has(id))).toEqual([]);
      // 2. One run per customer who signed up, and one message per step of it.
      const runs = await rows<{ customer_id: string; n: number }>(store, `SELECT customer_id, count(*)::int AS n FROM runs GROUP BY customer_id`);
      expect(runs.filter((r) => r.n !== 1)).toEqual([]);
      expect(runs.length).toBe(storedEvents.size);
      const outbox = await rows<{ id: string; channel: string; status: string }>(store, `SELECT id, channel, status FROM outbox`);
      expect(outbox.length).toBe(2 * runs.length);
      // 3. SMTP never got one message twice; every email is sent or ambiguous (never blindly resent).
      const mailIds = smtp.received.map((raw) => parseMail(raw).headers.get('message-id')?.[0]);
      expect(mailIds.length - new Set(mailIds).size).toBe(0);
      const emails = outbox.filter((m) => m.channel === 'email');
      expect(emails.filter((m) => m.status !== 'sent' && m.status !== 'ambiguous')).toEqual([]);
      const received = new Set(mailIds);
      for (const m of emails.filter((e) => e.status === 'sent')) expect(received.has(messageIdFor(m.id)), m.id).toBe(true);
      // 4. The idempotent SMS channel: every message accepted by the gateway exactly once (repeats are by key), none ambiguous.
      const sms = outbox.filter((m) => m.channel === 'sms');
      expect(sms.filter((m) => m.status !== 'sent')).toEqual([]);
      expect([...gateway.accepted].sort()).toEqual(sms.map((m) => m.id).sort());
      // 5. Ambiguous sends are counted, and status reports the same number.
      const ambiguous = emails.filter((m) => m.status === 'ambiguous').length;
      expect(ambiguous).toBeGreaterThanOrEqual(1); // the kill with an email's answer pending
      expect(gateway.keys.length).toBeGreaterThan(gateway.accepted.size); // the SMS cut off was sent again, same key
      const [attempts] = await rows<{ n: number }>(store, `SELECT count(*)::int AS n FROM attempts WHERE outcome = 'ambiguous' AND customer_id LIKE 'k%'`);
      expect(attempts.n).toBeGreaterThanOrEqual(ambiguous);
      await store.close();
      const status = await herald(['status', dir, '--format', 'json', ...db.args], { cwd: path.dirname(dir), env });
      expect((JSON.parse(status.stdout) as { outbox: Record<string, number> }).outbox.ambiguous ?? 0).toBe(ambiguous);
      console.log(`kill test (${name}): ${acceptedEvents.size} events, ${emails.length} emails (${ambiguous} ambiguous), ${sms.length} SMS (${gateway.keys.length - gateway.accepted.size} repeated keys)`);
      await smtp.close();
      await gateway.close();
    }, 180_000);
  });
}
