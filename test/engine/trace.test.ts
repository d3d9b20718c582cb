// GET /v1/customers/:id/trace on both backends: one customer's profile, consents, events, runs, messages with
// attempts and receipts, as the worker left them; token required; unknown customer 404; bad query 400.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createProvider, type ChannelProvider } from '../../src/channels/index.js';
import { loadProject } from '../../src/config/build-project.js';
import type { ChannelDef } from '../../src/config/model.js';
import { isHeldOut } from '../../src/core/journey-step.js';
import { manualClock } from '../../src/engine/clock.js';
import { collectConfigFiles } from '../../src/engine/config-files.js';
import { applyConfig } from '../../src/engine/config-versions.js';
import { startEngine } from '../../src/engine/engine.js';
import { insertReceipts } from '../../src/engine/http/receipts.js';
import { backendNames, useBackend } from './support/backends.js';

const loaded = loadProject([path.resolve('campaigns')]);
if (!loaded.project) throw new Error('campaigns/ does not load');
const project = loaded.project;
const customer = Array.from({ length: 50 }, (_, i) => `t-${i}`).find((id) => !isHeldOut(project.journeys.get('welcome')!, id))!;

function logProviders(): (c: ChannelDef) => ChannelProvider {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'herald-trace-')), 'out.ndjson');
  return (c) => createProvider({ ...c, provider: { ...c.provider, kind: 'log', path: file, idempotent: true } }, {});
}

for (const name of backendNames()) {
  describe(`customer trace on ${name}`, () => {
    const backend = useBackend(name);

    it('shows the profile, events, run, message, attempt and receipt of one customer', async () => {
      const store = await backend.clean();
      const clock = manualClock('2024-03-04T10:00:00Z');
      await applyConfig(store, collectConfigFiles(project), { who: 'test', project, clock });
      const engine = await startEngine({ store, token: 'tok', port: 0, clock, logLevel: 'silent', configPollMs: 0, worker: { providers: logProviders() } });
      const get = (url: string, auth = true) => fetch(`${engine.url}${url}`, { headers: auth ? { authorization: 'Bearer tok' } : {} });
      const post = (url: string, body: unknown) => fetch(`${engine.url}${url}`, { method: 'POST', headers: { authorization: 'Bearer tok', 'content-type': 'application/json' }, body: JSON.stringify(body) });
      try {
        expect((await post('/v1/customers', { id: customer, attributes: { email: 'ada@example.com', email_opt_in: true, first_name: 'Ada' } })).status).toBe(200);
        expect((await post('/v1/events', { id: 'e-1', customer_id: customer, type: 'signup', ts: '2024-03-04T09:59:00Z' })).status).toBe(200);
        await engine.worker!.tick();
        await engine.worker!.tick();
        const before = (await (await get(`/v1/customers/${customer}/trace`)).json()) as { messages: { id: string }[] };
        const messageId = before.messages[0].id;
        await insertReceipts(store, 'email', [{ id: 'r-1', messageId, status: 'delivered', at: clock.now() + 1000, payload: {} }], clock.now());
        clock.advance(5000);
        await engine.worker!.tick();

        const res = await get(`/v1/customers/${customer}/trace?events=5`);
        expect(res.status).toBe(200);
        const trace = (await res.json()) as Record<string, unknown>;
        expect(trace).toMatchObject({
          customer: { id: customer, attributes: { email: 'ada@example.com', first_name: 'Ada' } },
          consents: [],
          events: { total: 1, latest: [{ id: 'e-1', type: 'signup', ts: '2024-03-04T09:59:00.000Z', processed_at: '2024-03-04T10:00:00.000Z' }] },
          runs: [{ journey: 'welcome', status: 'active', step: 'wait-open', entered_at: '2024-03-04T10:00:00.000Z', wake_at: '2024-03-06T10:00:00.000Z' }],
          messages: [
            {
              id: messageId,
              journey: 'welcome',
              step: 'hello',
              channel: 'email',
              template: 'welcome',
              status: 'sent',
              attempts: [{ n: 1, outcome: 'sent', started_at: '2024-03-04T10:00:00.000Z' }],
              receipts: [{ status: 'delivered', at: '2024-03-04T10:00:01.000Z' }],
            },
          ],
        });

        expect((await get(`/v1/customers/${customer}/trace`, false)).status).toBe(401);
        const unknown = await get('/v1/customers/nobody/trace');
        expect(unknown.status).toBe(404);
        expect(await unknown.json()).toMatchObject({ error: { code: 'HER7013', field: 'params.id' } });
        const bad = await get(`/v1/customers/${customer}/trace?events=lots`);
        expect(bad.status).toBe(400);
        expect(await bad.json()).toMatchObject({ error: { field: 'query.events' } });
      } finally {
        await engine.close();
      }
    });
  });
}
