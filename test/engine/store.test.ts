// Store and migrations on both backends: idempotent, race-safe, refusing a newer schema, and a schema that
// keeps Citus sharding possible (customer_id leads every hot table's key).
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ENGINE_CODE } from '../../src/engine/codes.js';
import { EngineError } from '../../src/engine/errors.js';
import { migrate, MIGRATIONS, openStore } from '../../src/engine/store/index.js';
import { backendNames, count, rows, useBackend } from './support/backends.js';

const HOT_TABLES = ['events', 'runs', 'outbox', 'attempts', 'consents', 'ledger'];

describe.each(backendNames())('store on %s', (name) => {
  const backend = useBackend(name);

  it('migrates a new database once; a second migrate() is a no-op', async () => {
    const store = await backend.fresh({ migrate: false });
    expect(await migrate(store.db)).toEqual({ applied: MIGRATIONS.map((m) => m.id), level: MIGRATIONS.length });
    expect(await migrate(store.db)).toEqual({ applied: [], level: MIGRATIONS.length });
    expect(await count(store, 'herald_migrations')).toBe(MIGRATIONS.length);
  });

  it('serialises two engines migrating at once: one applies, the other finds it done', async () => {
    const store = await backend.fresh({ migrate: false });
    // PGlite has one connection in one process, so the "second engine" is a second call on the same store;
    // PostgreSQL gets a real second client racing for the advisory lock.
    const other = backend.sibling ? await backend.sibling(store) : store;
    const results = await Promise.all([migrate(store.db), migrate(other.db), migrate(store.db)]);
    const applied = results.map((r) => r.applied.length).sort();
    expect(applied).toEqual([0, 0, MIGRATIONS.length]);
    expect(results.every((r) => r.level === MIGRATIONS.length)).toBe(true);
    expect(await count(store, 'herald_migrations')).toBe(MIGRATIONS.length);
  });

  it('refuses a database migrated by a newer Herald', async () => {
    const store = await backend.fresh();
    await store.db.raw(`INSERT INTO herald_migrations (id, name) VALUES (999, 'from-the-future')`);
    const error = await migrate(store.db).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineError);
    expect(error).toMatchObject({ code: ENGINE_CODE.schemaTooNew, kind: 'invalid' });
  });

  it('keys every hot table by customer_id first (Citus distribution column)', async () => {
    const store = await backend.clean();
    const keys = await rows<{ table: string; first: string }>(
      store,
      `SELECT c.relname AS table, a.attname AS first
         FROM pg_index i
         JOIN pg_class c ON c.oid = i.indrelid
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
        WHERE i.indisprimary AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())`,
    );
    const byTable = Object.fromEntries(keys.map((k) => [k.table, k.first]));
    for (const t of HOT_TABLES) expect(byTable[t], t).toBe('customer_id');
    expect(byTable.customers).toBe('id');
  });

  it('enforces the outbox status set and at most one active configuration', async () => {
    const store = await backend.clean();
    const now = new Date('2024-01-01T00:00:00Z');
    const insert = (status: string) =>
      store.db.raw(
        `INSERT INTO outbox (customer_id, id, channel, template, class, status, created_at, updated_at) VALUES ('c1', ?, 'email', 't', 'marketing', ?, ?, ?)`,
        [`m-${status}`, status, now, now],
      );
    for (const s of ['queued', 'sending', 'sent', 'failed', 'ambiguous']) await insert(s);
    await expect(insert('lost')).rejects.toMatchObject({ code: '23514' });
    const v = (c: string) => c.repeat(64);
    await store.db.raw(`INSERT INTO config_versions (id, content, created_at, created_by) VALUES (?, '{}', ?, 't'), (?, '{}', ?, 't')`, [v('a'), now, v('b'), now]);
    await store.db.raw(`INSERT INTO activations (version, action, who, at, active) VALUES (?, 'apply', 't', ?, true)`, [v('a'), now]);
    await expect(store.db.raw(`INSERT INTO activations (version, action, who, at, active) VALUES (?, 'apply', 't', ?, true)`, [v('b'), now])).rejects.toMatchObject({ code: '23505' });
  });
});

describe('store: PostgreSQL-only and PGlite-only behaviour', () => {
  it.runIf(backendNames().includes('postgres'))('reports an unreachable PostgreSQL as unavailable (HER7201)', async () => {
    const error = await openStore({ databaseUrl: 'postgres://herald:herald@127.0.0.1:1/nowhere' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'unavailable', code: ENGINE_CODE.databaseUnavailable });
  });

  // Only PGlite needs the lock file: PostgreSQL is a server made for many clients.
  it.runIf(backendNames().includes('pglite'))('refuses to open one PGlite directory twice (HER7203)', async () => {
    const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'herald-lock-')), 'db');
    // A lock file naming a live process (our parent stands in for "another engine").
    writeFileSync(`${dir}.lock`, String(process.ppid));
    const error = await openStore({ dataDir: dir }).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'unavailable', code: ENGINE_CODE.dataDirLocked });
    rmSync(path.dirname(dir), { recursive: true, force: true });
  });
});

describe('migrations list', () => {
  it('lists every migrations/NNN-name.ts file, numbered consecutively from 001', () => {
    const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/engine/store/migrations');
    const files = readdirSync(dir).filter((f) => /^\d{3}-.+\.ts$/.test(f)).sort();
    expect(files.map((f) => Number(f.slice(0, 3)))).toEqual(files.map((_, i) => i + 1));
    expect(MIGRATIONS.map((m) => `${String(m.id).padStart(3, '0')}-${m.name}.ts`)).toEqual(files);
  });
});
