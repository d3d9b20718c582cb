// Configuration versions on both backends: content-addressed and stored once, activated atomically with an
// audit row, stale plans and concurrent applies refused, rollback, and runs pinned to their version.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProject } from '../../src/config/build-project.js';
import { manualClock } from '../../src/engine/clock.js';
import { ENGINE_CODE } from '../../src/engine/codes.js';
import { collectConfigFiles, configVersionId, type ConfigFile } from '../../src/engine/config-files.js';
import { applyConfig, ConfigInvalidError, loadActiveProject, rollback, status } from '../../src/engine/config-versions.js';
import { LOCK_CLASS } from '../../src/engine/store/index.js';
import { makeProject } from '../support/project-fixture.js';
import { backendNames, count, rows, useBackend } from './support/backends.js';

const PROMO = `apiVersion: herald/v1
kind: Template
metadata: { name: promo }
spec:
  email:
    subject: "Hi {{first_name}}"
    html: { file: bodies/promo.html.hbs }
    text: "Unsubscribe: {{unsubscribe_url}}"
`;

function project(extra: Record<string, string | null> = {}) {
  const dir = makeProject({ 'promo.yaml': PROMO, 'bodies/promo.html.hbs': '<p>Hello {{first_name}}</p>', ...extra });
  const loaded = loadProject([dir]);
  if (!loaded.project) throw new Error(JSON.stringify(loaded.diagnostics, null, 2));
  return { dir, project: loaded.project, files: collectConfigFiles(loaded.project) };
}

/** Two different valid configurations. */
function twoVersions() {
  const a = project();
  const b = project({ 'bodies/promo.html.hbs': '<p>Hello again {{first_name}}</p>' });
  return { a, b, idA: configVersionId(a.files), idB: configVersionId(b.files) };
}

describe('config files', () => {
  it('collects the YAML files and the template bodies they reference, with a content-addressed id', () => {
    const { files, project: p } = project();
    expect(files.map((f) => f.path)).toEqual(['bodies/promo.html.hbs', 'channels.yaml', 'herald.yaml', 'promo.yaml', 'templates.yaml']);
    expect(p.files).toHaveLength(4);
    const id = configVersionId(files);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(configVersionId([...files].reverse())).toBe(id);
    expect(configVersionId(files.map((f, i) => (i === 0 ? { ...f, text: `${f.text} ` } : f)))).not.toBe(id);
  });

  it('refuses files that are not the ones the Project was loaded from (HER7105)', async () => {
    const { project: p, files } = project();
    const other = files.map((f) => (f.path === 'herald.yaml' ? { ...f, text: `${f.text}# other\n` } : f));
    const store = { db: undefined } as never; // refused before the store is touched
    await expect(applyConfig(store, other, { who: 't', project: p })).rejects.toMatchObject({ code: ENGINE_CODE.filesChanged });
  });

  it('refuses files that changed after loading (HER7105)', () => {
    const { dir, project: p } = project();
    writeFileSync(path.join(dir, 'promo.yaml'), `${PROMO}# edited\n`);
    expect(() => collectConfigFiles(p)).toThrowError(expect.objectContaining({ code: ENGINE_CODE.filesChanged }));
  });
});

describe.each(backendNames())('config versions on %s', (name) => {
  const backend = useBackend(name);
  const clock = manualClock('2024-05-01T10:00:00Z');

  it('stores a version once and activates it with an audit row; re-applying the same content changes nothing', async () => {
    const store = await backend.clean();
    const { a, idA } = twoVersions();
    const first = await applyConfig(store, a.files, { who: 'alice', gitSha: 'abc123', message: 'first', project: a.project, clock, expectedActive: null });
    expect(first).toEqual({ kind: 'activated', version: idA, previous: null, created: true, activation: 1 });
    clock.advance(60_000);
    const again = await applyConfig(store, a.files, { who: 'bob', project: a.project, clock });
    expect(again).toEqual({ kind: 'unchanged', version: idA });
    expect(await count(store, 'config_versions')).toBe(1);
    const audit = await rows(store, `SELECT version, previous, action, who, git_sha, message, at, active FROM activations`);
    expect(audit).toEqual([{ version: idA, previous: null, action: 'apply', who: 'alice', git_sha: 'abc123', message: 'first', at: new Date('2024-05-01T10:00:00Z'), active: true }]);
    const stored = await rows<{ content: { files: ConfigFile[] } }>(store, `SELECT content FROM config_versions`);
    expect(stored[0].content.files).toEqual(a.files);
  });

  it('switches the active version atomically and keeps runs in flight on theirs', async () => {
    const store = await backend.clean();
    const { a, b, idA, idB } = twoVersions();
    await applyConfig(store, a.files, { who: 'alice', project: a.project, clock });
    const at = new Date(clock.now());
    await store.db.raw(
      `INSERT INTO runs (customer_id, run_id, journey, config_version, state, status, entered_at, updated_at) VALUES ('c1', 'r1', 'welcome', ?, '{}', 'active', ?, ?)`,
      [idA, at, at],
    );
    const second = await applyConfig(store, b.files, { who: 'bob', project: b.project, clock, expectedActive: idA.slice(0, 12) });
    expect(second).toMatchObject({ kind: 'activated', version: idB, previous: idA, created: true, activation: 2 });
    expect(await rows(store, `SELECT version, active FROM activations ORDER BY seq`)).toEqual([
      { version: idA, active: false },
      { version: idB, active: true },
    ]);
    expect(await rows(store, `SELECT config_version FROM runs`)).toEqual([{ config_version: idA }]);
  });

  it('refuses a stale plan (HER7101) and leaves everything as it was', async () => {
    const store = await backend.clean();
    const { a, b, idA } = twoVersions();
    await applyConfig(store, a.files, { who: 'alice', project: a.project, clock });
    const stale = await applyConfig(store, b.files, { who: 'bob', project: b.project, clock, expectedActive: null }).catch((e: unknown) => e);
    expect(stale).toMatchObject({ kind: 'conflict', code: ENGINE_CODE.staleActive });
    const wrong = await applyConfig(store, b.files, { who: 'bob', project: b.project, clock, expectedActive: 'f'.repeat(64) }).catch((e: unknown) => e);
    expect(wrong).toMatchObject({ kind: 'conflict', code: ENGINE_CODE.staleActive });
    expect(await count(store, 'config_versions')).toBe(1);
    expect(await rows(store, `SELECT version FROM activations WHERE active`)).toEqual([{ version: idA }]);
  });

  it('validates files it is given without a Project, and stores nothing when they are invalid', async () => {
    const store = await backend.clean();
    const { a } = twoVersions();
    const broken = a.files.map((f) => (f.path === 'promo.yaml' ? { ...f, text: f.text.replace('first_name', 'no_such_attribute') } : f));
    const error = await applyConfig(store, broken, { who: 'alice', clock }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigInvalidError);
    expect((error as ConfigInvalidError).diagnostics.map((d) => [d.code, d.file])).toContainEqual(['HER3002', 'promo.yaml']);
    expect(await count(store, 'config_versions')).toBe(0);
    expect(await applyConfig(store, a.files, { who: 'alice', clock })).toMatchObject({ kind: 'activated' });
  });

  it('rolls back to an earlier version by id prefix, with a rollback audit row', async () => {
    const store = await backend.clean();
    const { a, b, idA, idB } = twoVersions();
    await applyConfig(store, a.files, { who: 'alice', project: a.project, clock });
    await applyConfig(store, b.files, { who: 'alice', project: b.project, clock });
    clock.advance(3_600_000);
    const back = await rollback(store, idA.slice(0, 8), 'carol', { clock, message: 'bad copy' });
    expect(back).toMatchObject({ kind: 'activated', version: idA, previous: idB, created: false, activation: 3 });
    expect(await rollback(store, idA, 'carol', { clock })).toEqual({ kind: 'unchanged', version: idA });
    expect(await rows(store, `SELECT action, who, previous, message FROM activations WHERE active`)).toEqual([{ action: 'rollback', who: 'carol', previous: idB, message: 'bad copy' }]);
    await expect(rollback(store, 'deadbeef', 'carol', { clock })).rejects.toMatchObject({ kind: 'not_found', code: ENGINE_CODE.unknownVersion });
    await expect(rollback(store, 'xyz', 'carol', { clock })).rejects.toMatchObject({ code: ENGINE_CODE.unknownVersion });
    const loaded = await loadActiveProject(store);
    expect(loaded?.version).toBe(idA);
    expect([...loaded!.project.model.events.keys()]).toEqual(['signup', 'product_view', 'purchase']);
  });

  it('reports status: active version, versions, due timers and outbox backlog', async () => {
    const store = await backend.clean();
    const { a, b, idA, idB } = twoVersions();
    expect((await status(store, { clock })).active).toBeNull();
    await applyConfig(store, a.files, { who: 'alice', gitSha: 'g1', project: a.project, clock });
    clock.advance(1000);
    await applyConfig(store, b.files, { who: 'bob', project: b.project, clock, message: 'copy' });
    const now = clock.now();
    const run = (id: string, wake: number | null, state = 'active') =>
      store.db.raw(
        `INSERT INTO runs (customer_id, run_id, journey, config_version, state, status, entered_at, wake_at, updated_at) VALUES ('c1', ?, 'j', ?, '{}', ?, ?, ?, ?)`,
        [id, idA, state, new Date(now), wake === null ? null : new Date(wake), new Date(now)],
      );
    await run('r1', now - 1);
    await run('r2', now);
    await run('r3', now + 60_000);
    await run('r4', null);
    await run('r5', now - 1, 'completed');
    const msg = (id: string, s: string) =>
      store.db.raw(`INSERT INTO outbox (customer_id, id, channel, template, class, status, created_at, updated_at) VALUES ('c1', ?, 'email', 't', 'marketing', ?, ?, ?)`, [id, s, new Date(now), new Date(now)]);
    await msg('m1', 'queued');
    await msg('m2', 'queued');
    await msg('m3', 'ambiguous');
    await msg('m4', 'sent');
    const s = await status(store, { clock });
    expect(s.active).toEqual({ version: idB, activatedAt: new Date(now), action: 'apply', who: 'bob', gitSha: null, message: 'copy' });
    expect(s.versions.map((v) => [v.id, v.active, v.files])).toEqual([
      [idB, true, 5],
      [idA, false, 5],
    ]);
    expect(s.history.map((h) => h.seq)).toEqual([2, 1]);
    expect(s.dueTimers).toBe(2);
    expect(s.activeRuns).toBe(4);
    expect(s.outbox).toEqual({ queued: 2, sending: 0, failed: 0, ambiguous: 1 });
  });

  // Defined for PostgreSQL only (not skipped on PGlite): the cases need two sessions.
  if (name === 'postgres') it('refuses to apply while another engine holds the configuration lock (HER7102)', async () => {
    // PostgreSQL only: the lock must be held by another session, and PGlite has a single session.
    const store = await backend.fresh();
    const other = await backend.sibling!(store);
    const { a } = twoVersions();
    await other.db.transaction(async (trx) => {
      await trx.raw(`SELECT pg_advisory_xact_lock(${LOCK_CLASS.config}, hashtext(current_schema()))`);
      const error = await applyConfig(store, a.files, { who: 'alice', project: a.project, clock }).catch((e: unknown) => e);
      expect(error).toMatchObject({ kind: 'conflict', code: ENGINE_CODE.lockHeld });
    });
    expect(await count(store, 'config_versions')).toBe(0);
    expect(await applyConfig(store, a.files, { who: 'alice', project: a.project, clock })).toMatchObject({ kind: 'activated' });
  });

  if (name === 'postgres') it('leaves exactly one active version when two engines apply at once', async () => {
    const store = await backend.fresh();
    const other = await backend.sibling!(store);
    const { a, b } = twoVersions();
    const outcomes = await Promise.allSettled([
      applyConfig(store, a.files, { who: 'alice', project: a.project, clock }),
      applyConfig(other, b.files, { who: 'bob', project: b.project, clock }),
    ]);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toMatchObject({ code: ENGINE_CODE.lockHeld });
    expect(outcomes.some((o) => o.status === 'fulfilled')).toBe(true);
    expect(await count(store, 'activations', 'active')).toBe(1);
    expect(await count(store, 'activations')).toBe(outcomes.filter((o) => o.status === 'fulfilled').length);
  });
});
