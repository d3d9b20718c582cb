// The worker loop: every `intervalMs`, drain the event queue, step due timers and send queued messages.
// Everything it works on is a row, so stopping (or crashing) loses nothing: `stop()` waits for the tick in
// progress and starts no new one. `tick()` runs one round, for tests and for the HTTP fast path (`wake`).
import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Store } from '../store/open-store.js';
import { startCronWaker, type CronWaker } from './cron-waker.js';
import { processSweeps, scheduleSweeps, type ProcessSweepsResult } from './entry-sweeps.js';
import { processEvents } from './process-events.js';
import { refitModels } from './customer-models.js';
import { processReceipts, type ProcessReceiptsResult } from './process-receipts.js';
import { processTimers } from './process-timers.js';
import { storeProjectLoader, type ProjectLoader } from './projects.js';
import { sendOutbox, type ProviderResolver, type SendOutboxResult } from './send-outbox.js';

export interface WorkerOptions {
  store: Store;
  providers: ProviderResolver;
  /** Default: the store's active version, and each run's own version. */
  projects?: ProjectLoader;
  clock?: Clock;
  /** 0 or undefined: no timer (call tick()). */
  intervalMs?: number;
  /** Identifies this replica in leases and attempts rows. */
  workerId?: string;
  batchSize?: number;
  timerLeaseMs?: number;
  sendLeaseMs?: number;
  /** At most this many event batches per tick, so timers and sends are not starved. */
  maxEventBatches?: number;
  /** At most this many sweep pages (refresh-tick and cron entry) per tick. */
  maxSweepPages?: number;
  /** Customers per sweep page. */
  sweepBatchSize?: number;
  onError?: (error: unknown) => void;
  /** See SendOutboxOptions.unsubscribeSecret. */
  unsubscribeSecret?: string;
  /** How often the RFM/CLV models are refitted (default one day; the first fit runs at once). */
  modelRefitMs?: number;
}

export interface TickResult {
  events: number;
  entered: number;
  timers: number;
  sends: number;
  outbox: SendOutboxResult;
  receipts: ProcessReceiptsResult;
  /** Refresh-tick and cron entry (entry-sweeps.ts); its entries are in `entered` too. */
  sweeps: ProcessSweepsResult;
  /** Whether this round refitted the RFM/CLV models (customer-models.ts). */
  modelsFitted: boolean;
}

export interface Worker {
  readonly id: string;
  tick(): Promise<TickResult>;
  /** Asks for a tick soon (the HTTP ingest fast path). */
  wake(): void;
  stop(): Promise<void>;
}

export function startWorker(options: WorkerOptions): Worker {
  const id = options.workerId ?? `worker-${randomBytes(4).toString('hex')}`;
  const clock = options.clock ?? { now: () => Date.now() };
  const projects = options.projects ?? storeProjectLoader(options.store);
  const common = { store: options.store, projects, clock, batchSize: options.batchSize };
  let running: Promise<TickResult> | undefined;
  let fitting: Promise<void> | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const round = async (): Promise<TickResult> => {
    const r: TickResult = { modelsFitted: false, events: 0, entered: 0, timers: 0, sends: 0, outbox: { claimed: 0, sent: 0, retried: 0, failed: 0, ambiguous: 0, recovered: 0 }, receipts: { receipts: 0, applied: 0, unknown: 0, skipped: 0, sends: 0 }, sweeps: { pages: 0, customers: 0, entered: 0, sends: 0, finished: 0 } };
    for (let i = 0; i < (options.maxEventBatches ?? 10); i++) {
      const e = await processEvents(common);
      r.events += e.events;
      r.entered += e.entered;
      r.sends += e.sends;
      if (e.events === 0) break;
    }
    // Models before sweeps, so a refresh tick already reads a fit due at the same instant. A daemon fits in the
    // background (a fit reads every purchase: seconds on a big store, which timers must not wait for); a
    // tick()-driven worker (tests, a manual clock) waits for it.
    if (!fitting) {
      const fit = refitModels({ ...common, refitMs: options.modelRefitMs, worker: id });
      if (options.intervalMs && options.intervalMs > 0) {
        fitting = fit.then(
          () => undefined,
          (error: unknown) => options.onError?.(error),
        );
        void fitting.finally(() => (fitting = undefined));
      } else {
        r.modelsFitted = await fit;
      }
    }
    // Sweeps after events: at one instant a customer's own event is seen first, as in the plan.
    await scheduleSweeps(common);
    r.sweeps = await processSweeps({ ...common, batchSize: options.sweepBatchSize, maxPages: options.maxSweepPages });
    r.entered += r.sweeps.entered;
    r.sends += r.sweeps.sends;
    await cron?.update();
    // Receipts before timers: an open that arrived before a wait's timeout is applied before the timeout fires.
    r.receipts = await processReceipts(common);
    r.sends += r.receipts.sends;
    const t = await processTimers({ ...common, worker: id, leaseMs: options.timerLeaseMs });
    r.timers = t.runs;
    r.sends += t.sends;
    r.outbox = await sendOutbox({ ...common, worker: id, providers: options.providers, leaseMs: options.sendLeaseMs, unsubscribeSecret: options.unsubscribeSecret });
    return r;
  };

  // One round at a time per worker: a tick asked for during a round waits for it and then runs its own.
  const tick = (): Promise<TickResult> => {
    const next: Promise<TickResult> = (running ?? Promise.resolve()).catch(() => undefined).then(round);
    running = next;
    void next.finally(() => {
      if (running === next) running = undefined;
    }).catch(() => undefined);
    return next;
  };

  const background = () => {
    if (stopped) return;
    tick().catch((error: unknown) => options.onError?.(error));
  };

  // Cron occurrences wake the worker on time even when its interval is long (the sweep row is what counts;
  // a wake-up is only a hint). Only for a worker that runs on its own: tick()-driven ones have a test clock.
  let cron: CronWaker | undefined;
  if (options.intervalMs && options.intervalMs > 0) {
    timer = setInterval(background, options.intervalMs);
    timer.unref();
    cron = startCronWaker(projects, () => background());
  }

  return {
    id,
    tick,
    wake: () => {
      if (!stopped && !running) background();
    },
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      cron?.stop();
      await running?.catch(() => undefined);
      await fitting;
    },
  };
}
