// herald apply / rollback / status / engine start, on both backends: output, audit, exit codes (conflict 4,
// database unavailable 5), and the daemon as a real process stopped by SIGTERM.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ENGINE_CODE } from '../../src/engine/codes.js';
import { makeProject } from '../support/project-fixture.js';
import { backendNames, count, rows, useBackend } from './support/backends.js';
import { herald } from './support/cli.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '../..');

describe.each(backendNames())('herald apply / rollback / status on %s', (name) => {
  const backend = useBackend(name);

  it('applies, re-applies as a no-op, reports status and drift, rolls back', async () => {
    const db = await backend.cliDatabase();
    const dir = makeProject({});
    const cwd = path.dirname(dir);
    const apply = await herald(['apply', dir, '-m', 'first', '--git-sha', 'abc123', ...db.args], { cwd });
    expect(apply.stderr).toBe('');
    expect(apply.code).toBe(0);
    const first = /activated ([0-9a-f]{12}) \(new version, 3 files\); previous: none; audit #1/.exec(apply.stdout)?.[1];
    expect(first).toBeDefined();
    expect((await herald(['apply', dir, ...db.args], { cwd })).stdout).toBe(`= ${first} is already active; nothing changed\n`);

    const clean = await herald(['status', dir, ...db.args], { cwd });
    expect(clean.code).toBe(0);
    expect(clean.stdout).toContain(`active    ${first}  applied by tester at `);
    expect(clean.stdout).toContain('git abc123  "first"');
    expect(clean.stdout).toContain('drift     none');

    writeFileSync(path.join(dir, 'templates.yaml'), `${readFileSync(path.join(dir, 'templates.yaml'), 'utf8')}# tweak\n`);
    expect((await herald(['status', dir, ...db.args], { cwd })).stdout).toMatch(/drift {5}the local files \([0-9a-f]{12}\) differ/);
    const stale = await herald(['apply', dir, '--expect-active', 'none', ...db.args], { cwd });
    expect(stale.code).toBe(4);
    expect(stale.stderr).toContain(`error[${ENGINE_CODE.staleActive}]`);
    const second = await herald(['apply', dir, '--expect-active', first!, '--format', 'json', ...db.args], { cwd });
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ kind: 'activated', previous: expect.stringMatching(new RegExp(`^${first}`)), activation: 2 });

    const back = await herald(['rollback', '--to', first!, '-m', 'revert', ...db.args], { cwd });
    expect(back.code).toBe(0);
    expect(back.stdout).toMatch(new RegExp(`✓ activated ${first} \\(stored version\\); previous: [0-9a-f]{12}; audit #3`));
    const unknown = await herald(['rollback', '--to', 'deadbeef', ...db.args], { cwd });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(`error[${ENGINE_CODE.unknownVersion}]`);

    const json = JSON.parse((await herald(['status', dir, '--format', 'json', ...db.args], { cwd })).stdout);
    expect(json.history.map((h: { action: string; who: string }) => `${h.action}:${h.who}`)).toEqual(['rollback:tester', 'apply:tester', 'apply:tester']);
    expect(json.drift).toMatchObject({ checked: true, matches: false });
  });

  it('prints the diagnostics of an invalid configuration and stores nothing (exit 1)', async () => {
    const db = await backend.cliDatabase();
    const dir = makeProject({ 'broken.yaml': 'apiVersion: herald/v1\nkind: Segment\nmetadata: { name: s }\nspec: { where: "count(nope) > 1" }\n' });
    const res = await herald(['apply', dir, ...db.args], { cwd: path.dirname(dir) });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('broken.yaml');
    const store = await db.open();
    expect(await count(store, 'config_versions')).toBe(0);
  });
});

describe('herald CLI: database problems and the daemon', () => {
  it.runIf(backendNames().includes('postgres'))('exits 5 when PostgreSQL is unreachable', async () => {
    const dir = makeProject({});
    const res = await herald(['apply', dir, '--database-url', 'postgres://herald:herald@127.0.0.1:1/none'], { cwd: path.dirname(dir) });
    expect(res.code).toBe(5);
    expect(res.stderr).toContain(`error[${ENGINE_CODE.databaseUnavailable}]`);
  });

  it('exits 5 for status with no embedded database, and 64 for engine start without a token', async () => {
    const dir = makeProject({});
    const status = await herald(['status', '--data-dir', path.join(dir, 'nothing-here')], { cwd: dir });
    expect(status.code).toBe(5);
    const start = await herald(['engine', 'start', '--data-dir', path.join(dir, 'db')], { cwd: dir, env: { HERALD_API_TOKEN: '' } });
    expect(start.code).toBe(64);
    expect(start.stderr).toContain(`error[${ENGINE_CODE.missingToken}]`);
  });

  it('exits 64 with a code for a HERALD_PG_PREPARED it does not take', async () => {
    const dir = makeProject({});
    const start = await herald(['engine', 'start', '--data-dir', path.join(dir, 'db')], { cwd: dir, env: { HERALD_API_TOKEN: 't', HERALD_PG_PREPARED: 'false' } });
    expect(start.code).toBe(64);
    expect(start.stderr).toContain(`error[${ENGINE_CODE.badEnvironment}]`);
    expect(start.stderr).toContain(`HERALD_PG_PREPARED is 'false'; it takes on or off`);
    expect(start.stderr).not.toMatch(/\n\s+at /);
  });
});

describe.each(backendNames())('herald engine start on %s', (name) => {
  const backend = useBackend(name);

  it('applies, serves ingest, and on SIGTERM finishes, closes the store and exits 0', async () => {
    const db = await backend.cliDatabase();
    const dir = makeProject({});
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(HERE, 'support/cli-entry.ts'), 'engine', 'start', '--port', '0', '--apply', dir, '--log-level', 'warn', ...db.args], {
      cwd: REPO,
      env: { ...process.env, HERALD_API_TOKEN: 'tok', HERALD_WHO: 'ci', DATABASE_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+) \((\w+), configuration [0-9a-f]{12}\)/.exec(stderr);
        if (m) resolve(m[1]);
      });
      child.once('exit', (code) => reject(new Error(`engine exited ${code} before listening:\n${stderr}\n${stdout}`)));
    });
    expect(stderr).toContain(`(${name}, configuration`);
    const res = await fetch(`${url}/v1/events`, {
      method: 'POST',
      headers: { authorization: 'Bearer tok', 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'e1', customer_id: 'c1', type: 'signup', ts: '2024-05-01T00:00:00Z' }),
    });
    expect(res.status).toBe(200);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toContain('SIGTERM: finishing requests in flight');
    expect(stderr).toContain('herald engine stopped');
    // The store was closed cleanly (PGlite: its lock file is gone, so it reopens) and kept the event.
    const store = await db.open();
    expect(await rows(store, `SELECT customer_id, id, type FROM events`)).toEqual([{ customer_id: 'c1', id: 'e1', type: 'signup' }]);
    expect(await count(store, 'activations', `who = 'ci'`)).toBe(1);
  });
});

describe('herald engine start flags', () => {
  it.each([
    ['--tick', '5', '--tick 5 is not a whole number of milliseconds ≥ 10'],
    ['--send-lease', 'soon', '--send-lease soon is not a whole number of milliseconds ≥ 100'],
    ['--timer-lease', '1.5', '--timer-lease 1.5 is not a whole number of milliseconds ≥ 100'],
    ['--model-refit', 'daily', '--model-refit daily is not a whole number of milliseconds ≥ 100'],
  ])('refuses %s %s with a code, exit 64 and no stack', async (flag, value, message) => {
    const r = await herald(['engine', 'start', flag, value], { cwd: REPO, env: { HERALD_API_TOKEN: 't' } });
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('HER7008');
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
