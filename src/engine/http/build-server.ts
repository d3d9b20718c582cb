// The engine's HTTP surface: ingest (events, customers), health and metrics. A request is answered only
// after its rows are committed; every refusal is { error: { code, message, field } } with the first
// problem, plus `errors` listing all of them (up to 100), so a client fixes a whole batch in one go.
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import pino from 'pino';
import type { DataModel } from '../../model/data-model.js';
import { systemClock, type Clock } from '../clock.js';
import { ENGINE_CODE, type EngineCode } from '../codes.js';
import { isEngineError } from '../errors.js';
import { insertEvents, upsertCustomers, type EventOutcome } from '../ingest/write-ingest.js';
import { validateCustomers, validateEvents, type IngestProblem, type ValidEvent } from '../ingest/validate-input.js';
import { readQueueDepths } from '../queue-depths.js';
import { isConnectionError, type Store } from '../store/open-store.js';
import { createMetrics, type EngineMetrics } from './metrics.js';
import { registerTraceRoute } from './customer-trace.js';
import { registerReceiptRoutes } from './receipts.js';
import { registerUnsubscribeRoutes } from './unsubscribe.js';

/** An event as committed: what the journey worker's entry hook receives. */
export interface CommittedEvent extends ValidEvent {
  receivedAt: number;
}

export interface ServerOptions {
  store: Store;
  /** The bearer token every /v1/ request must carry. */
  token: string;
  clock?: Clock;
  /**
   * Called after a commit with the events it inserted (never duplicates). Not awaited by the request: a
   * slow consumer does not slow ingest, and a crash before it runs loses nothing, because the rows stay
   * unprocessed (events.processed_at IS NULL) for the worker to sweep. close() waits for pending calls.
   */
  onEvents?: (events: readonly CommittedEvent[]) => void | Promise<void>;
  /**
   * Stores a validated batch (default: insertEvents, queued for the worker). The engine passes entry at ingest
   * (worker/ingest-entry.ts), which commits the batch's journey entries with it.
   */
  storeEvents?: (events: readonly ValidEvent[], receivedAt: number) => Promise<EventOutcome[]>;
  /** The active configuration's data model; ingest checks types and props against it when present. */
  dataModel?: () => DataModel | undefined;
  metrics?: EngineMetrics;
  logger?: pino.Logger;
  /** pino level when no logger is given (default info; tests pass silent). */
  logLevel?: pino.LevelWithSilent;
  /** Largest accepted body in bytes (default 5 MiB). */
  bodyLimit?: number;
  /** Most events or customers in one request (default 1000). */
  maxBatch?: number;
  /** Channel name → secret (or secrets while rotating) for signed `POST /v1/receipts/:channel`. */
  receiptSecrets?: Readonly<Record<string, string | readonly string[]>>;
  /** Secret of the unsubscribe link tokens; without it there are no `/u/:token` routes. */
  unsubscribeSecret?: string;
}

export type EngineServer = FastifyInstance & {
  metrics: EngineMetrics;
  /** Resolves when every onEvents call started so far has finished. */
  settled(): Promise<void>;
};

export const DEFAULT_BODY_LIMIT = 5 * 1024 * 1024;
export const DEFAULT_MAX_BATCH = 1000;

export interface ErrorBody {
  error: { code: EngineCode; message: string; field: string | null };
  errors?: { code: EngineCode; message: string; field: string | null }[];
}

export async function buildServer(options: ServerOptions): Promise<EngineServer> {
  const { store } = options;
  const clock = options.clock ?? systemClock;
  const metrics = options.metrics ?? createMetrics();
  metrics.observeQueues(() => readQueueDepths(store.db, clock.now()));
  const maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
  const logger = options.logger ?? pino({ level: options.logLevel ?? 'info', base: { service: 'herald-engine' } });
  const tokenDigest = digest(options.token);
  const pending = new Set<Promise<void>>();

  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    // Requests are logged once, on completion (below); the default two lines per request cost throughput.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    // Unsubscribe link tokens (/u/:token) carry customer, channel and message ids: longer than the default 100.
    routerOptions: { maxParamLength: 2048 },
    forceCloseConnections: 'idle',
  }) as unknown as FastifyInstance;
  // Only JSON: a text/plain body is refused with 415 rather than parsed as a string.
  app.removeContentTypeParser('text/plain');

  const refuse = (reply: FastifyReply, status: number, problems: readonly Omit<IngestProblem, 'status'>[]) => {
    const list = problems.map((p) => ({ code: p.code, message: p.message, field: p.field === '' ? null : p.field }));
    for (const code of new Set(list.map((p) => p.code))) metrics.ingestRejected.inc({ code });
    const body: ErrorBody = { error: list[0], ...(list.length > 1 ? { errors: list } : {}) };
    return reply.code(status).send(body);
  };

  app.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith('/v1/')) return;
    // Receipts come from providers: their Herald-Signature, checked by the route, authenticates them.
    if (request.url.startsWith('/v1/receipts/')) return;
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match || !timingSafeEqual(digest(match[1]), tokenDigest)) {
      reply.header('www-authenticate', 'Bearer');
      return refuse(reply, 401, [{ code: ENGINE_CODE.unauthorized, message: header ? 'the bearer token is not valid' : 'an Authorization: Bearer <token> header is required', field: 'headers.authorization' }]);
    }
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
    metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    const line = { method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 };
    if (reply.statusCode >= 500) request.log.error(line, 'request failed');
    else if (reply.statusCode >= 400) request.log.info(line, 'request refused');
    else request.log.debug(line, 'request');
  });

  // A response finished while closing also closes its keep-alive connection; otherwise close() would wait
  // for the client to drop it (Fastify only reaps connections idle at the moment close() starts).
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });

  app.setNotFoundHandler((request, reply) => refuse(reply, 404, [{ code: ENGINE_CODE.notFound, message: `no route ${request.method} ${request.url.split('?')[0]}`, field: '' }]));

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const fastifyCode = error.code;
    if (fastifyCode === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return refuse(reply, 413, [{ code: ENGINE_CODE.bodyTooLarge, message: `the body is larger than ${options.bodyLimit ?? DEFAULT_BODY_LIMIT} bytes; send smaller batches`, field: '' }]);
    }
    if (fastifyCode === 'FST_ERR_CTP_INVALID_JSON_BODY' || fastifyCode === 'FST_ERR_CTP_EMPTY_JSON_BODY' || fastifyCode === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') {
      return refuse(reply, 400, [{ code: ENGINE_CODE.invalidJson, message: 'the body is not valid JSON', field: '' }]);
    }
    if (fastifyCode === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return refuse(reply, 415, [{ code: ENGINE_CODE.unsupportedMediaType, message: `Content-Type must be application/json, got ${request.headers['content-type'] ?? 'none'}`, field: 'headers.content-type' }]);
    }
    if (isConnectionError(error) || isEngineError(error, 'unavailable')) {
      request.log.error({ err: error }, 'database unavailable');
      return refuse(reply, 503, [{ code: ENGINE_CODE.databaseUnavailable, message: 'the database is unavailable; retry later', field: '' }]);
    }
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      return refuse(reply, error.statusCode, [{ code: ENGINE_CODE.invalidValue, message: error.message, field: '' }]);
    }
    request.log.error({ err: error }, 'internal error');
    return refuse(reply, 500, [{ code: ENGINE_CODE.internal, message: 'internal error', field: '' }]);
  });

  app.post('/v1/events', async (request, reply) => {
    const checked = validateEvents(request.body, options.dataModel?.(), { maxBatch });
    if (checked.errors.length) return refuse(reply, statusOf(checked.errors), checked.errors);
    const receivedAt = clock.now();
    // Committed before the reply: one autocommitted INSERT, or entry at ingest's transaction.
    const outcomes = await (options.storeEvents ?? ((events, at) => insertEvents(store.db, events, at)))(checked.value, receivedAt);
    const committed: CommittedEvent[] = [];
    for (const o of outcomes) if (o.inserted) committed.push({ ...o.event, receivedAt });
    metrics.eventsIngested.inc(committed.length);
    if (outcomes.length > committed.length) metrics.eventsDuplicate.inc(outcomes.length - committed.length);
    if (committed.length && options.onEvents) notify(committed);
    const results = outcomes.map((o) => ({ id: o.event.id, customer_id: o.event.customerId, status: o.inserted ? 'inserted' : 'duplicate' }));
    if (checked.single) return reply.send(results[0]);
    return reply.send({ inserted: committed.length, duplicates: outcomes.length - committed.length, results });
  });

  app.post('/v1/customers', async (request, reply) => {
    const checked = validateCustomers(request.body, options.dataModel?.(), { maxBatch });
    if (checked.errors.length) return refuse(reply, statusOf(checked.errors), checked.errors);
    const outcomes = await upsertCustomers(store.db, checked.value, clock.now());
    const created = outcomes.filter((o) => o.created).length;
    if (created) metrics.customersUpserted.inc({ result: 'created' }, created);
    if (outcomes.length > created) metrics.customersUpserted.inc({ result: 'updated' }, outcomes.length - created);
    const results = outcomes.map((o) => ({ id: o.id, status: o.created ? 'created' : 'updated' }));
    if (checked.single) return reply.send(results[0]);
    return reply.send({ created, updated: outcomes.length - created, results });
  });

  await registerReceiptRoutes(app, { store, clock, secrets: options.receiptSecrets ?? {}, maxBatch, refuse });
  await registerTraceRoute(app, { store, refuse });
  if (options.unsubscribeSecret) await registerUnsubscribeRoutes(app, { store, clock, secret: options.unsubscribeSecret, refuse });

  app.get('/healthz', async (_request, reply) => {
    try {
      await store.ping();
      return reply.send({ status: 'ok', database: store.backend });
    } catch {
      return refuse(reply, 503, [{ code: ENGINE_CODE.databaseUnavailable, message: 'the database does not answer', field: '' }]);
    }
  });

  app.get('/metrics', async (_request, reply) => {
    return reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.addHook('onClose', async () => {
    await settled();
  });

  function notify(events: CommittedEvent[]): void {
    const p: Promise<void> = Promise.resolve()
      .then(() => options.onEvents!(events))
      .catch((error: unknown) => app.log.error({ err: error }, 'onEvents hook failed; the events stay unprocessed for the worker'))
      .finally(() => pending.delete(p));
    pending.add(p);
  }

  async function settled(): Promise<void> {
    while (pending.size) await Promise.allSettled([...pending]);
  }

  const server = app as EngineServer;
  server.metrics = metrics;
  server.settled = settled;
  await app.ready();
  return server;
}

function statusOf(problems: readonly IngestProblem[]): number {
  if (problems.some((p) => p.status === 413)) return 413;
  if (problems.some((p) => p.status === 400)) return 400;
  return 422;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
