// One suite, two backends (after pg-boss): every engine test runs on PGlite and on PostgreSQL.
// Isolation: on PostgreSQL each fresh store is its own schema (t_<random>), dropped when the file passed;
// on PGlite each is an in-memory database loaded from a migrated template dump made once per file, because
// creating a PGlite cluster (initdb) takes seconds while loading a dump takes a fraction of one — the same
// idea as graphile-worker's template database. (The on-disk data directory is exercised by the CLI tests.)
// HERALD_TEST_BACKENDS=pglite (or postgres) narrows the backends.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';
import { afterAll, afterEach, beforeEach } from 'vitest';
import { dumpStore, openStore, type OpenedStore } from '../../../src/engine/store/index.js';

export const TEST_DATABASE_URL = process.env.HERALD_TEST_DATABASE_URL ?? 'postgres://herald:herald@127.0.0.1:5432/herald_test';

export type BackendName = 'pglite' | 'postgres';

export interface TestBackend {
  name: BackendName;
  /** A new, isolated store; migrated unless migrate: false. Closed (and removed if all passed) after the file. */
  fresh(options?: { migrate?: boolean }): Promise<OpenedStore>;
  /**
   * The describe block's shared store, emptied (every table but herald_migrations truncated). Much cheaper
   * than fresh() on PGlite; tests that close the store or need an unmigrated one use fresh().
   */
  clean(): Promise<OpenedStore>;
  /**
   * A second store on the same database as `store` (another engine replica). PostgreSQL only: PGlite is a
   * single-connection, single-process database, so there is no second client to race with.
   */
  sibling?(store: OpenedStore, options?: { migrate?: boolean }): Promise<OpenedStore>;
  /**
   * Where a CLI run should point (--database-url or --data-dir) for a new, migrated database, and a way to
   * open it from the test. PGlite: an on-disk directory seeded from the template, as `herald` would use.
   */
  cliDatabase(): Promise<{ args: string[]; open(): Promise<OpenedStore> }>;
}

export function backendNames(): BackendName[] {
  const only = process.env.HERALD_TEST_BACKENDS?.split(',').map((s) => s.trim()) ?? [];
  return (['pglite', 'postgres'] as const).filter((b) => only.length === 0 || only.includes(b));
}

/**
 * Call inside a describe block: returns the backend helper and registers the hooks that track failures
 * and clean up after the block.
 */
export function useBackend(name: BackendName): TestBackend {
  const opened: OpenedStore[] = [];
  const schemas: string[] = [];
  const dirs: string[] = [];
  let failed = false;
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      failed = true;
    });
  });
  let shared: OpenedStore | undefined;
  // Fresh stores close after each test (a PGlite instance holds ~100 MB); the shared one after the block.
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    if (name === 'postgres' && !failed && schemas.length) {
      const admin = await openStore({ databaseUrl: TEST_DATABASE_URL, migrate: false });
      try {
        for (const s of schemas) await admin.db.raw(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
      } finally {
        await admin.close();
      }
    }
    await shared?.close();
    if (!failed) for (const d of dirs) rmSync(d, { recursive: true, force: true });
    if (failed && (schemas.length || dirs.length)) console.error(`kept for inspection: ${[...schemas, ...dirs].join(', ')}`);
  });
  const track = (s: OpenedStore) => {
    opened.push(s);
    return s;
  };

  const withClean = (b: Omit<TestBackend, 'clean'>): TestBackend => ({
    ...b,
    async clean() {
      if (!shared) {
        shared = await b.fresh();
        opened.splice(opened.indexOf(shared), 1);
      }
      await truncateAll(shared);
      return shared;
    },
  });

  if (name === 'postgres') {
    return withClean({
      name,
      async fresh(options = {}) {
        const schema = `t_${randomBytes(6).toString('hex')}`;
        schemas.push(schema);
        return track(await openStore({ databaseUrl: TEST_DATABASE_URL, schema, migrate: options.migrate ?? true, poolMax: 5 }));
      },
      async sibling(store, options = {}) {
        return track(await openStore({ databaseUrl: TEST_DATABASE_URL, schema: store.schema, migrate: options.migrate ?? false, poolMax: 5 }));
      },
      async cliDatabase() {
        const store = await this.fresh();
        const url = `${TEST_DATABASE_URL}${TEST_DATABASE_URL.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${store.schema}`)}`;
        await store.close();
        return { args: ['--database-url', url], open: () => this.sibling!(store) };
      },
    });
  }

  // Templates live in memory: each fresh store loads a dump (no initdb, no disk I/O per store).
  let templates: Promise<{ bare: Blob; migrated: Blob }> | undefined;
  return withClean({
    name,
    async fresh(options = {}) {
      templates ??= pgliteTemplates();
      const t = await templates;
      return track(await openStore({ snapshot: options.migrate === false ? t.bare : t.migrated, migrate: options.migrate ?? true }));
    },
    async cliDatabase() {
      templates ??= pgliteTemplates();
      const root = mkdtempSync(path.join(os.tmpdir(), 'herald-cli-db-'));
      dirs.push(root);
      const dataDir = path.join(root, 'db');
      await (await openStore({ dataDir, snapshot: (await templates).migrated })).close();
      return { args: ['--data-dir', dataDir], open: async () => track(await openStore({ dataDir })) };
    },
  });
}

/**
 * The bare and migrated PGlite template dumps, cached in the temp directory under a key made of the PGlite
 * version and the migration sources, so initdb runs once per machine rather than once per test file. The
 * first file to need them builds them under a lock file; files starting at the same time wait for it.
 */
async function pgliteTemplates(): Promise<{ bare: Blob; migrated: Blob }> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const migrationsDir = path.resolve(here, '../../../src/engine/store/migrations');
  // The installed PGlite's package.json (not importable: its exports map hides it).
  const hash = createHash('sha256').update(readFileSync(path.resolve(here, '../../../node_modules/@electric-sql/pglite/package.json')));
  for (const f of readdirSync(migrationsDir).sort()) hash.update(f).update(readFileSync(path.join(migrationsDir, f)));
  const base = path.join(os.tmpdir(), `herald-pglite-template-${hash.digest('hex').slice(0, 16)}`);
  const bareFile = `${base}-bare.tar`;
  const migratedFile = `${base}-migrated.tar`;
  const lockFile = `${base}.lock`;
  const load = () => ({ bare: new Blob([readFileSync(bareFile)]), migrated: new Blob([readFileSync(migratedFile)]) });
  for (let waited = 0; ; waited += 50) {
    if (existsSync(migratedFile)) return load();
    let fd: number | undefined;
    try {
      fd = openSync(lockFile, 'wx');
    } catch {
      // Another test file is building them; a lock older than two minutes was left by a killed run.
      if (waited > 120_000 || Date.now() - statSync(lockFile, { throwIfNoEntry: false })!.mtimeMs > 120_000) rmSync(lockFile, { force: true });
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    try {
      const bareStore = await openStore({ dataDir: 'memory', migrate: false });
      const bare = await dumpStore(bareStore);
      await bareStore.close();
      const migratedStore = await openStore({ snapshot: bare });
      const migrated = await dumpStore(migratedStore);
      await migratedStore.close();
      // Written under temporary names and renamed: a reader never sees half a file.
      writeFileSync(`${bareFile}.${process.pid}`, Buffer.from(await bare.arrayBuffer()));
      renameSync(`${bareFile}.${process.pid}`, bareFile);
      writeFileSync(`${migratedFile}.${process.pid}`, Buffer.from(await migrated.arrayBuffer()));
      renameSync(`${migratedFile}.${process.pid}`, migratedFile);
      return { bare, migrated };
    } finally {
      closeSync(fd);
      rmSync(lockFile, { force: true });
    }
  }
}

async function truncateAll(store: OpenedStore): Promise<void> {
  const tables = (await store.db.raw(`SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'herald_migrations' ORDER BY tablename`)).rows as { tablename: string }[];
  if (tables.length) await store.db.raw(`TRUNCATE ${tables.map((t) => `"${t.tablename}"`).join(', ')} RESTART IDENTITY CASCADE`);
}

/** Rows of a query, for assertions. */
export async function rows<T = Record<string, unknown>>(store: OpenedStore, sql: string, bindings: readonly Knex.RawBinding[] = []): Promise<T[]> {
  return (await store.db.raw(sql, bindings)).rows as T[];
}

export async function count(store: OpenedStore, table: string, where = 'true', bindings: readonly Knex.RawBinding[] = []): Promise<number> {
  const r = await rows<{ n: number }>(store, `SELECT count(*)::int AS n FROM ${table} WHERE ${where}`, bindings);
  return Number(r[0].n);
}
