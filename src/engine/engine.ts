// A running engine: the HTTP server over a store, and the active configuration kept current (another
// engine, or `herald apply` from CI, may activate a new version at any time; each engine notices within
// one poll). The durable journey worker will hang off this object too (see store/README.md).
import type pino from 'pino';
import type { Project } from '../config/model.js';
import { systemClock, type Clock } from './clock.js';
import { activeVersion, loadActiveProject, short } from './config-versions.js';
import { buildServer, type CommittedEvent, type EngineServer } from './http/build-server.js';
import { createMetrics } from './http/metrics.js';
import type { Store } from './store/open-store.js';
import { startWorker, type Worker, type WorkerOptions } from './worker/worker.js';
import { ingestWithEntry, type EntryPhases } from './worker/ingest-entry.js';
import { storeProjectLoader } from './worker/projects.js';
import { insertEvents, type EventOutcome } from './ingest/write-ingest.js';
import type { ValidEvent } from './ingest/validate-input.js';
import { isConnectionError } from './store/open-store.js';

export interface EngineOptions {
  store: Store;
  token: string;
  port?: number;
  host?: string;
  clock?: Clock;
  logger?: pino.Logger;
  logLevel?: pino.LevelWithSilent;
  onEvents?: (events: readonly CommittedEvent[]) => void | Promise<void>;
  /** How often to look for a newly activated configuration (default 5 s; 0 disables). */
  configPollMs?: number;
  defaultMetrics?: boolean;
  bodyLimit?: number;
  maxBatch?: number;
  /** Starts the durable journey worker with this engine (stopped by close()); ingest wakes it. */
  worker?: Omit<WorkerOptions, 'store' | 'clock'>;
  /**
   * With a worker: enter ingested events into journeys in the ingest transaction, instead of queueing them for
   * the worker. Either way the same code offers them (offerBatch). Default: on, on both backends. It measured
   * faster on the bundled sample's stream (on PostgreSQL 1.3× the queue's throughput, with histories kept
   * between batches; on PGlite the worker could only wait for ingest's single connection anyway); the queue is
   * faster when every batch brings 500 different customers (0.8–1.0× on the synthetic mixes). Off,
   * acknowledgements are as fast as a plain INSERT and a worker enters what was queued. See the README.
   */
  entryAtIngest?: boolean;
  /** Per channel: the secret(s) providers sign receipts with (POST /v1/receipts/:channel). */
  receiptSecrets?: Readonly<Record<string, string | readonly string[]>>;
  /** Signs unsubscribe tokens; enables POST/GET /u/:token. */
  unsubscribeSecret?: string;
}

export interface ActiveConfig {
  version: string;
  project: Project;
}

export interface RunningEngine {
  server: EngineServer;
  url: string;
  port: number;
  active(): ActiveConfig | undefined;
  /** Reloads the active configuration if it changed; resolves to the active version. */
  refreshConfig(): Promise<string | undefined>;
  /** The durable worker, when `worker` was given. */
  worker?: Worker;
  /** Stops accepting connections, finishes in-flight requests and pending hooks. The store stays open. */
  close(): Promise<void>;
}

export const DEFAULT_PORT = 8750;

export async function startEngine(options: EngineOptions): Promise<RunningEngine> {
  const metrics = createMetrics({ defaultMetrics: options.defaultMetrics });
  let current: ActiveConfig | undefined;
  let worker: Worker | undefined;
  const onEvents =
    options.worker || options.onEvents
      ? async (events: readonly CommittedEvent[]) => {
          worker?.wake();
          await options.onEvents?.(events);
        }
      : undefined;
  const clock = options.clock ?? systemClock;
  const projects = options.worker?.projects ?? storeProjectLoader(options.store);
  const observePhases = (seconds: EntryPhases) => {
    for (const [phase, sec] of Object.entries(seconds)) metrics.entryPhaseSeconds.observe({ phase }, sec);
  };
  const storeEvents =
    options.worker && (options.entryAtIngest ?? true)
      ? async (events: readonly ValidEvent[], receivedAt: number): Promise<EventOutcome[]> => {
          try {
            return (await ingestWithEntry({ store: options.store, projects, clock, phases: observePhases }, events, receivedAt)).outcomes;
          } catch (error) {
            if (isConnectionError(error)) throw error;
            // Nothing of the failed transaction stayed; stored queued, the batch gets the worker's retries.
            server.log.error({ err: error }, 'entry at ingest failed; the batch is queued for the worker');
            return insertEvents(options.store.db, events, receivedAt);
          }
        }
      : undefined;
  const server = await buildServer({
    store: options.store,
    storeEvents,
    token: options.token,
    clock,
    onEvents,
    dataModel: () => current?.project.model,
    metrics,
    logger: options.logger,
    logLevel: options.logLevel,
    bodyLimit: options.bodyLimit,
    maxBatch: options.maxBatch,
    receiptSecrets: options.receiptSecrets,
    unsubscribeSecret: options.unsubscribeSecret,
  });
  const log = server.log;

  const refreshConfig = async (): Promise<string | undefined> => {
    const id = await activeVersion(options.store.db);
    if (id === (current?.version ?? null)) return id ?? undefined;
    if (id === null) {
      current = undefined;
      metrics.configActive.reset();
      return undefined;
    }
    const loaded = await loadActiveProject(options.store);
    // Between the two reads another apply may have landed; loadActiveProject's answer is the newer one.
    if (loaded) {
      current = loaded;
      metrics.configActive.reset();
      metrics.configActive.set({ version: loaded.version }, 1);
      log.info({ version: short(loaded.version) }, 'configuration active');
    }
    return current?.version;
  };

  await refreshConfig();
  let polling: NodeJS.Timeout | undefined;
  if ((options.configPollMs ?? 5000) > 0) {
    polling = setInterval(() => {
      refreshConfig().catch((error: unknown) => log.error({ err: error }, 'could not reload the active configuration; keeping the previous one'));
    }, options.configPollMs ?? 5000);
    polling.unref();
  }

  const address = await server.listen({ port: options.port ?? DEFAULT_PORT, host: options.host ?? '127.0.0.1' });
  const port = (server.server.address() as { port: number }).port;
  if (options.worker) worker = startWorker({ ...options.worker, projects, store: options.store, clock, onError: options.worker.onError ?? ((error) => log.error({ err: error }, 'worker tick failed')) });
  let closing: Promise<void> | undefined;
  return {
    server,
    url: address,
    port,
    active: () => current,
    refreshConfig,
    worker,
    close: () =>
      (closing ??= (async () => {
        if (polling) clearInterval(polling);
        await server.close();
        await worker?.stop();
      })()),
  };
}
