// Prometheus metrics of one engine, on a registry of its own (not prom-client's global one), so several
// servers in one process — tests, benchmarks — never collide. Counters are set by ingest. The queue gauges
// are read from the store at scrape time (`observeQueues`): the rows are the queue, shared by every replica,
// so a gauge a worker set after its own tick would be stale and would differ between replicas.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { QueueDepths } from '../queue-depths.js';

export interface EngineMetrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route'>;
  eventsIngested: Counter;
  eventsDuplicate: Counter;
  ingestRejected: Counter<'code'>;
  customersUpserted: Counter<'result'>;
  /** Seconds per part of an at-ingest entry transaction (insert, read, step, write, commit), one observation per batch. */
  entryPhaseSeconds: Histogram<'phase'>;
  /** Active runs whose timer is due and not yet claimed. */
  runsDue: Gauge;
  /** Runs in status active. */
  runsActive: Gauge;
  /** Outbox rows per status (queued, sending, failed, ambiguous). */
  outboxBacklog: Gauge<'status'>;
  /** Per queue (events, timers, outbox): seconds the oldest due, unclaimed item has waited; how far behind the workers are. */
  claimLagSeconds: Gauge<'queue'>;
  /** 1 for the active configuration version (label), set when the engine loads it. */
  configActive: Gauge<'version'>;
  /**
   * Where the queue gauges read their values at each scrape (buildServer points it at the store). The four
   * gauges share one reading per scrape. When the reading fails (database down), they keep their last values:
   * /healthz is what reports the database.
   */
  observeQueues(read: () => Promise<QueueDepths>): void;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): EngineMetrics {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'herald_' });
  const registers = [registry];
  let read: (() => Promise<QueueDepths>) | undefined;
  let reading: Promise<QueueDepths | undefined> | undefined;
  // prom-client calls every metric's collect() in the same synchronous loop of one scrape, so the first
  // gauge starts the reading and the other three await the same promise.
  const sample = (): Promise<QueueDepths | undefined> => {
    if (!read) return Promise.resolve(undefined);
    reading ??= read()
      .catch(() => undefined)
      .finally(() => {
        reading = undefined;
      });
    return reading;
  };
  const queueGauge = <L extends string>(name: string, help: string, labelNames: L[], fill: (gauge: Gauge<L>, q: QueueDepths) => void): Gauge<L> =>
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers,
      async collect() {
        const q = await sample();
        if (q) fill(this, q);
      },
    });
  return {
    registry,
    httpRequests: new Counter({ name: 'herald_http_requests_total', help: 'HTTP requests answered', labelNames: ['method', 'route', 'status'], registers }),
    httpDuration: new Histogram({
      name: 'herald_http_request_duration_seconds',
      help: 'HTTP request duration',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    eventsIngested: new Counter({ name: 'herald_events_ingested_total', help: 'Events committed by POST /v1/events', registers }),
    eventsDuplicate: new Counter({ name: 'herald_events_duplicate_total', help: 'Events accepted but not inserted: their id was already stored', registers }),
    ingestRejected: new Counter({ name: 'herald_ingest_rejected_total', help: 'Ingest requests refused, by error code', labelNames: ['code'], registers }),
    customersUpserted: new Counter({ name: 'herald_customers_upserted_total', help: 'Customers created or updated', labelNames: ['result'], registers }),
    entryPhaseSeconds: new Histogram({
      name: 'herald_ingest_entry_phase_seconds',
      help: 'Seconds an at-ingest entry transaction spent per phase: insert (locks, events, revisions), read, step, write, commit (with BEGIN and retries)',
      labelNames: ['phase'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    runsDue: queueGauge('herald_runs_due', 'Active runs whose timer is due and not claimed', [], (g, q) => g.set(q.dueRuns)),
    runsActive: queueGauge('herald_runs_active', 'Runs in status active', [], (g, q) => g.set(q.activeRuns)),
    outboxBacklog: queueGauge('herald_outbox_backlog', 'Outbox messages per status (sent excluded)', ['status'], (g, q) => {
      for (const [status, n] of Object.entries(q.outbox)) g.set({ status }, n);
    }),
    claimLagSeconds: queueGauge('herald_claim_lag_seconds', 'Seconds the oldest due, unclaimed item of each queue (events, timers, outbox) has waited', ['queue'], (g, q) => {
      for (const [queue, sec] of Object.entries(q.lagSeconds)) g.set({ queue }, sec);
    }),
    configActive: new Gauge({ name: 'herald_config_active', help: '1 for the active configuration version', labelNames: ['version'], registers }),
    observeQueues(fn) {
      read = fn;
    },
  };
}
