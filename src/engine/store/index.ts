export { openStore, dumpStore, isConnectionError, DEFAULT_DATA_DIR, type Store, type OpenedStore, type OpenStoreOptions, type Backend } from './open-store.js';
export { migrate, LOCK_CLASS, type Migration, type MigrateResult } from './migrate.js';
export { MIGRATIONS } from './migrations/index.js';
