// Prometheus metrics of one engine, on a registry of its own (not prom-client's global one), so several
// servers in one process — tests, benchmarks — never collide. Counters are set by ingest; the gauges are the
// durable worker's to set (it owns the queries), exported here so /metrics has a stable shape from day one.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface EngineMetrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route'>;
  eventsIngested: Counter;
  eventsDuplicate: Counter;
  ingestRejected: Counter<'code'>;
  customersUpserted: Counter<'result'>;
  /** Worker: active runs whose timer is due and not yet claimed. */
  runsDue: Gauge;
  /** Worker: runs in status active. */
  runsActive: Gauge;
  /** Worker: outbox rows per status (queued, sending, failed, ambiguous). */
  outboxBacklog: Gauge<'status'>;
  /** Worker: seconds between a due row's time and its claim (how far behind the worker is). */
  claimLagSeconds: Gauge;
  /** 1 for the active configuration version (label), set when the engine loads it. */
  configActive: Gauge<'version'>;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): EngineMetrics {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'herald_' });
  const registers = [registry];
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
    runsDue: new Gauge({ name: 'herald_runs_due', help: 'Active runs whose timer is due', registers }),
    runsActive: new Gauge({ name: 'herald_runs_active', help: 'Runs in status active', registers }),
    outboxBacklog: new Gauge({ name: 'herald_outbox_backlog', help: 'Outbox messages per status', labelNames: ['status'], registers }),
    claimLagSeconds: new Gauge({ name: 'herald_claim_lag_seconds', help: 'Delay between a row falling due and its claim', registers }),
    configActive: new Gauge({ name: 'herald_config_active', help: '1 for the active configuration version', labelNames: ['version'], registers }),
  };
}
