// The durable journey worker (DESIGN §6; store/README.md "Left for the durable worker").
export { startWorker, type Worker, type WorkerOptions, type TickResult } from './worker.js';
export { processEvents, canEnter, historyCacheOf, type ProcessEventsOptions, type ProcessEventsResult } from './process-events.js';
export { ingestWithEntry, type EntryPhases, type IngestEntryOptions, type IngestEntryResult } from './ingest-entry.js';
export { processTimers, type ProcessTimersOptions, type ProcessTimersResult } from './process-timers.js';
export { sendOutbox, type SendOutboxOptions, type SendOutboxResult, type ProviderResolver } from './send-outbox.js';
export { storeProjectLoader, type ProjectLoader } from './projects.js';
export { refitModels } from './customer-models.js';
export { CUSTOMER_LOCK_CLASS } from './runs.js';
