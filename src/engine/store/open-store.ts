// One Store over either backend: PostgreSQL (a URL: several engines may share it) or PGlite, PostgreSQL
// compiled to WebAssembly in this process, in a data directory (./.herald/db): one engine, no server.
// Every query the engine runs is plain PostgreSQL that both accept (PG 15 and PGlite's PG 17/18).
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import knexPkg, { type Knex } from 'knex';
import ClientPgLite from 'knex-pglite';
import { ENGINE_CODE } from '../codes.js';
import { EngineError } from '../errors.js';
import { migrate, type MigrateResult } from './migrate.js';

export type Backend = 'postgres' | 'pglite';

export interface Store {
  readonly db: Knex;
  readonly backend: Backend;
  /** The schema the store's search_path points at (default: the database's, usually public). */
  readonly schema?: string;
  /** PGlite only: the data directory (undefined when in memory). */
  readonly dataDir?: string;
  /** Runs `SELECT 1`; throws EngineError(unavailable) when the database cannot answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  /** postgres://… selects PostgreSQL; otherwise PGlite. */
  databaseUrl?: string;
  /** PGlite data directory; default ./.herald/db under cwd. `memory` keeps it in memory (benchmarks). */
  dataDir?: string | 'memory';
  cwd?: string;
  /** Put every table in this schema (created if missing): tests isolate themselves this way. */
  schema?: string;
  /** Apply pending migrations (default true). */
  migrate?: boolean;
  /** PostgreSQL pool size (default 10). PGlite always has exactly one connection. */
  poolMax?: number;
  /**
   * PGlite only: start from this dump (see dumpStore) instead of running initdb — in memory, or written
   * into `dataDir` when one is given and empty. A template database for tests and benchmarks: ~0.5–1 s
   * instead of several.
   */
  snapshot?: Blob;
}

export interface OpenedStore extends Store {
  /** What migrate() did on open (undefined when migrate: false). */
  readonly migration?: MigrateResult;
}

export const DEFAULT_DATA_DIR = '.herald/db';

const { knex } = knexPkg;

/** knex prints connection failures to the console itself; they reach the caller as errors anyway. */
const QUIET_KNEX_LOG = { warn() {}, error() {}, debug() {}, deprecate() {} };

export async function openStore(options: OpenStoreOptions = {}): Promise<OpenedStore> {
  if (options.schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(options.schema)) {
    throw new EngineError('invalid', ENGINE_CODE.invalidValue, `schema name '${options.schema}' must be lower-case letters, digits and _`);
  }
  const searchPath = options.schema ? [options.schema] : undefined;
  let db: Knex;
  let backend: Backend;
  let dataDir: string | undefined;
  let releaseDir = () => {};
  if (options.databaseUrl) {
    backend = 'postgres';
    db = knex({
      client: 'pg',
      connection: options.databaseUrl,
      searchPath,
      // min 0: an idle engine (and a finished test) holds no connections.
      pool: { min: 0, max: options.poolMax ?? 10 },
      acquireConnectionTimeout: 10_000,
      log: QUIET_KNEX_LOG,
    });
  } else {
    backend = 'pglite';
    if (options.dataDir !== 'memory' && !(options.snapshot && options.dataDir === undefined)) {
      dataDir = path.resolve(options.cwd ?? process.cwd(), options.dataDir ?? DEFAULT_DATA_DIR);
      mkdirSync(path.dirname(dataDir), { recursive: true });
      releaseDir = lockDataDir(dataDir);
    }
    const pglite = options.snapshot ? new PGlite(dataDir, { loadDataDir: options.snapshot }) : new PGlite(dataDir);
    // knex-pglite fixes the pool at one connection: PGlite is single-user. It closes the instance on destroy.
    db = knex({ client: ClientPgLite as unknown as typeof knexPkg.Client, connection: () => ({ pglite }), searchPath, log: QUIET_KNEX_LOG } as Knex.Config);
    pglites.set(db, pglite);
  }
  const ping = async () => {
    try {
      await db.raw('SELECT 1');
    } catch (error) {
      throw unavailable(error, backend);
    }
  };
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    try {
      await db.destroy();
    } finally {
      releaseDir();
    }
  };
  try {
    await ping();
    if (options.schema) await createSchema(db, options.schema);
    const migration = options.migrate === false ? undefined : await migrate(db);
    return { db, backend, schema: options.schema, dataDir, ping, close, migration };
  } catch (error) {
    await close().catch(() => {});
    throw error instanceof EngineError ? error : isConnectionError(error) ? unavailable(error, backend) : error;
  }
}

const pglites = new WeakMap<Knex, PGlite>();

/** PGlite only: the whole data directory as an uncompressed tarball, for `snapshot`. */
export async function dumpStore(store: Store): Promise<Blob> {
  const pglite = pglites.get(store.db);
  if (!pglite) throw new Error('dumpStore needs a PGlite store');
  return pglite.dumpDataDir('none');
}

async function createSchema(db: Knex, schema: string): Promise<void> {
  try {
    await db.raw(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  } catch (error) {
    // Two engines creating the same schema at once: one wins, the other sees a unique violation.
    if ((error as { code?: string }).code !== '23505' && (error as { code?: string }).code !== '42P06') throw error;
  }
}

const CONNECTION_ERRNO = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Errors that mean "the database is not there (for us)", as opposed to a bug in a query. */
export function isConnectionError(error: unknown): boolean {
  const e = error as { code?: string; name?: string; message?: string } | undefined;
  if (!e) return false;
  if (e.name === 'KnexTimeoutError') return true;
  if (e.code && CONNECTION_ERRNO.has(e.code)) return true;
  // 08xxx connection exceptions, 57P0x shutdown / cannot connect now, 3D000 no such database,
  // 28xxx authentication failed.
  if (e.code && /^(08|57P0|3D000|28)/.test(e.code)) return true;
  return /Connection terminated|connect ECONNREFUSED|Client has encountered a connection error|Unable to acquire a connection/.test(e.message ?? '');
}

function unavailable(error: unknown, backend: Backend): EngineError {
  const detail = error instanceof Error ? error.message : String(error);
  return new EngineError(
    'unavailable',
    ENGINE_CODE.databaseUnavailable,
    `${backend === 'postgres' ? 'PostgreSQL' : 'the embedded database'} is unavailable: ${detail || (error as { code?: string }).code}`,
    backend === 'postgres' ? 'check DATABASE_URL and that the server accepts connections' : undefined,
  );
}

/**
 * PGlite takes no lock on its directory, and two processes writing one directory corrupt it: a lock file
 * next to it (`<dir>.lock`, holding the pid) refuses a second engine. A lock left by a dead process is taken
 * over.
 */
function lockDataDir(dataDir: string): () => void {
  const lockFile = `${dataDir}.lock`;
  for (let tries = 0; tries < 2; tries++) {
    try {
      const fd = openSync(lockFile, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        rmSync(lockFile, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number(readFileSync(lockFile, 'utf8').trim());
      if (pid && pid !== process.pid && isAlive(pid)) break;
      if (pid === process.pid) break;
      rmSync(lockFile, { force: true });
    }
  }
  throw new EngineError(
    'unavailable',
    ENGINE_CODE.dataDirLocked,
    `the embedded database ${dataDir} is in use by another Herald process (${lockFile})`,
    'stop the other engine, or use PostgreSQL (DATABASE_URL) to run several',
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
