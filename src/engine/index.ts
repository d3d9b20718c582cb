// Public API of the engine (DESIGN §6). The CLI and the durable worker import from here.
export { systemClock, manualClock, type Clock, type ManualClock } from './clock.js';
export { ENGINE_CODE, ENGINE_CODES, type EngineCode } from './codes.js';
export { EngineError, isEngineError, type EngineErrorKind } from './errors.js';
export { collectConfigFiles, configVersionId, loadConfigFiles, type ConfigFile } from './config-files.js';
export {
  applyConfig,
  rollback,
  status,
  activeVersion,
  loadActiveProject,
  loadVersionFiles,
  short,
  ConfigInvalidError,
  type ApplyOptions,
  type RollbackOptions,
  type ActivationResult,
  type EngineStatus,
  type ActiveInfo,
  type VersionInfo,
  type ActivationRecord,
  type OutboxStatus,
} from './config-versions.js';
export { readQueueDepths, type QueueDepths, type OutboxBacklogStatus } from './queue-depths.js';
export { readChannelHealth, judgeChannelHealth, HEALTH_THRESHOLDS, type ChannelHealth, type HealthVerdict, type AttemptCounts } from './channel-health.js';
export { buildServer, DEFAULT_BODY_LIMIT, DEFAULT_MAX_BATCH, type ServerOptions, type EngineServer, type CommittedEvent, type ErrorBody } from './http/build-server.js';
export { createMetrics, type EngineMetrics } from './http/metrics.js';
export { validateEvents, validateCustomers, type ValidEvent, type ValidCustomer, type IngestProblem } from './ingest/validate-input.js';
export { insertEvents, upsertCustomers, type EventOutcome, type CustomerOutcome } from './ingest/write-ingest.js';
export { startEngine, DEFAULT_PORT, type EngineOptions, type RunningEngine, type ActiveConfig } from './engine.js';
export * from './store/index.js';
export * from './worker/index.js';
