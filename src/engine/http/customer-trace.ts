// GET /v1/customers/:id/trace: everything the engine knows and did about one customer, for support and
// debugging ("why did Ada get this SMS?"): profile, consent records with their evidence, the latest events
// and whether the worker has seen them, every run (version, step, what it waits for) and every message with
// its attempts and receipts. Read-only, behind the API token; one read-only snapshot (REPEATABLE READ), so the
// parts agree with each other even while the worker writes.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ENGINE_CODE } from '../codes.js';
import type { Store } from '../store/open-store.js';
import type { IngestProblem } from '../ingest/validate-input.js';

export interface TraceRouteOptions {
  store: Store;
  refuse: (reply: FastifyReply, status: number, problems: readonly Omit<IngestProblem, 'status'>[]) => FastifyReply;
}

const iso = (d: Date | string | null | undefined) => (d === null || d === undefined ? null : new Date(d).toISOString());

export async function registerTraceRoute(app: FastifyInstance, options: TraceRouteOptions): Promise<void> {
  app.get<{ Params: { id: string }; Querystring: { events?: string } }>('/v1/customers/:id/trace', async (request, reply) => {
    const id = request.params.id;
    const limitText = request.query.events ?? '100';
    const limit = Number(limitText);
    if (!Number.isInteger(limit) || limit < 0 || limit > 10_000) {
      return options.refuse(reply, 400, [{ code: ENGINE_CODE.invalidValue, message: `events must be a whole number from 0 to 10000, got ${limitText}`, field: 'query.events' }]);
    }
    const trace = await options.store.db.transaction(
      async (trx) => {
        const q = async <T>(sql: string, bindings: unknown[]) => (await trx.raw(sql, bindings as never[])).rows as T[];
        const customer = await q<{ attributes: Record<string, unknown>; created_at: Date; updated_at: Date }>(`SELECT attributes, created_at, updated_at FROM customers WHERE id = ?`, [id]);
        const events = await q<{ id: string; type: string; ts: Date; props: unknown; received_at: Date; processed_at: Date | null }>(
          `SELECT id, type, ts, props, received_at, processed_at FROM events WHERE customer_id = ? ORDER BY ts DESC, id DESC LIMIT ?`,
          [id, limit],
        );
        const [eventCount] = await q<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE customer_id = ?`, [id]);
        const consents = await q<{ id: string; channel: string; granted: boolean; source: string; evidence: unknown; at: Date }>(
          `SELECT id, channel, granted, source, evidence, at FROM consents WHERE customer_id = ? ORDER BY at DESC, id`,
          [id],
        );
        const suppressions = await q<{ channel: string; address: string; reason: string; evidence: unknown; at: Date }>(
          `SELECT channel, address, reason, evidence, at FROM suppressions WHERE customer_id = ? ORDER BY at, channel, address`,
          [id],
        );
        const runs = await q<{ run_id: string; journey: string; config_version: string; status: string; entered_at: Date; wake_at: Date | null; state: { step?: string; waiting?: unknown; goalDeadline?: number; visits?: Record<string, number> } }>(
          `SELECT run_id, journey, config_version, status, entered_at, wake_at, state FROM runs WHERE customer_id = ? ORDER BY entered_at, run_id`,
          [id],
        );
        const messages = await q<{ id: string; run_id: string | null; journey: string; step: string; channel: string; template: string; class: string; status: string; attempts: number; created_at: Date; last_error: unknown; provider_message_id: string | null }>(
          `SELECT id, run_id, journey, step, channel, template, class, status, attempts, created_at, last_error, provider_message_id FROM outbox WHERE customer_id = ? ORDER BY created_at, id`,
          [id],
        );
        const attempts = await q<{ message_id: string; n: number; worker: string; outcome: string | null; started_at: Date; finished_at: Date | null; error: unknown }>(
          `SELECT message_id, n, worker, outcome, started_at, finished_at, error FROM attempts WHERE customer_id = ? ORDER BY message_id, n`,
          [id],
        );
        const receipts = await q<{ message_id: string; status: string; at: Date; channel: string }>(
          `SELECT message_id, status, at, channel FROM receipts WHERE customer_id = ? ORDER BY at, provider_event_id`,
          [id],
        );
        return { customer, events, eventCount, consents, suppressions, runs, messages, attempts, receipts };
      },
      { isolationLevel: 'repeatable read', readOnly: true },
    );
    if (trace.customer.length === 0 && trace.eventCount.n === 0) {
      return options.refuse(reply, 404, [{ code: ENGINE_CODE.notFound, message: `no customer ${id}`, field: 'params.id' }]);
    }
    const c = trace.customer[0];
    return reply.send({
      customer: { id, attributes: c?.attributes ?? {}, created_at: iso(c?.created_at), updated_at: iso(c?.updated_at) },
      consents: trace.consents.map((r) => ({ id: r.id, channel: r.channel, granted: r.granted, source: r.source, evidence: r.evidence, at: iso(r.at) })),
      suppressions: trace.suppressions.map((r) => ({ channel: r.channel, address: r.address, reason: r.reason, evidence: r.evidence, at: iso(r.at) })),
      events: {
        total: trace.eventCount.n,
        latest: trace.events.map((e) => ({ id: e.id, type: e.type, ts: iso(e.ts), props: e.props, received_at: iso(e.received_at), processed_at: iso(e.processed_at) })),
      },
      runs: trace.runs.map((r) => ({
        run_id: r.run_id,
        journey: r.journey,
        config_version: r.config_version,
        status: r.status,
        entered_at: iso(r.entered_at),
        step: r.status === 'active' ? (r.state.step ?? null) : null,
        waiting: r.status === 'active' ? (r.state.waiting ?? null) : null,
        wake_at: iso(r.wake_at),
        goal_deadline: r.state.goalDeadline === undefined ? null : iso(new Date(r.state.goalDeadline)),
        visits: r.state.visits ?? {},
      })),
      messages: trace.messages.map((m) => ({
        id: m.id,
        run_id: m.run_id,
        journey: m.journey,
        step: m.step,
        channel: m.channel,
        template: m.template,
        class: m.class,
        status: m.status,
        created_at: iso(m.created_at),
        provider_message_id: m.provider_message_id,
        last_error: m.last_error ?? null,
        attempts: trace.attempts.filter((a) => a.message_id === m.id).map((a) => ({ n: a.n, worker: a.worker, outcome: a.outcome, started_at: iso(a.started_at), finished_at: iso(a.finished_at), error: a.error ?? null })),
        receipts: trace.receipts.filter((r) => r.message_id === m.id).map((r) => ({ status: r.status, at: iso(r.at) })),
      })),
    });
  });
}
