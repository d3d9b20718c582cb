// Configuration versions: immutable, content-addressed rows, and activations that switch the active one.
// apply and rollback run in ONE transaction under an advisory lock (try-lock: a second apply at the same
// moment is refused, not queued behind the first), with an audit row per activation. Runs in flight are
// not touched: each run row carries the config_version it started on.
import type { StoredModels } from './worker/customer-models.js';
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Knex } from 'knex';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import type { Project } from '../config/model.js';
import { systemClock, type Clock } from './clock.js';
import { ENGINE_CODE } from './codes.js';
import { checkConfigFiles, configVersionId, loadConfigFiles, type ConfigFile } from './config-files.js';
import { EngineError } from './errors.js';
import { readChannelHealth, type ChannelHealth } from './channel-health.js';
import { readQueueDepths, type QueueDepths } from './queue-depths.js';
import { LOCK_CLASS, SCHEMA_LOCK_KEY } from './store/migrate.js';
import type { Store } from './store/open-store.js';

export interface ApplyOptions {
  who: string;
  gitSha?: string;
  message?: string;
  /**
   * The version the plan was made against (null: nothing active). When given and not the active one, the
   * plan is stale and apply refuses. A prefix of at least 7 hex digits is enough.
   */
  expectedActive?: string | null;
  /** The Project the files were loaded as; without it the files are loaded here to validate them. */
  project?: Project;
  clock?: Clock;
}

export type ActivationResult =
  | { kind: 'unchanged'; version: string }
  | { kind: 'activated'; version: string; previous: string | null; created: boolean; activation: number };

/** Raised (as EngineError kind 'invalid', code HER7107) when the files do not load as a valid Project. */
export class ConfigInvalidError extends EngineError {
  constructor(readonly diagnostics: Diagnostic[]) {
    super('invalid', ENGINE_CODE.configInvalid, `the configuration has ${diagnostics.filter((d) => d.severity === 'error').length} error(s); nothing was applied`);
  }
}

export async function applyConfig(store: Store, files: readonly ConfigFile[], options: ApplyOptions): Promise<ActivationResult> {
  checkConfigFiles(files);
  if (options.project) {
    // The files must be the ones the Project was loaded from: what is stored is what was validated.
    const byPath = new Map(files.map((f) => [f.path, f.text]));
    for (const f of options.project.files) {
      const text = byPath.get(f.path.split(path.sep).join('/'));
      if (text === undefined || createHash('sha256').update(text).digest('hex') !== f.sha256) {
        throw new EngineError('invalid', ENGINE_CODE.filesChanged, `${f.path} is not the file the configuration was loaded from`, 'pass collectConfigFiles(project)');
      }
    }
  } else {
    const loaded = loadConfigFiles(files);
    if (!loaded.project) throw new ConfigInvalidError(loaded.diagnostics);
  }
  const id = configVersionId(files);
  const at = new Date((options.clock ?? systemClock).now());
  return store.db.transaction(async (trx) => {
    await takeConfigLock(trx);
    const active = await readActive(trx);
    checkExpected(options.expectedActive, active);
    const inserted = await trx.raw(
      `INSERT INTO config_versions (id, content, created_at, created_by) VALUES (?, ?::jsonb, ?, ?)
       ON CONFLICT (id) DO NOTHING RETURNING id`,
      [id, JSON.stringify({ format: 1, files: files.map((f) => ({ path: f.path, text: f.text })) }), at, options.who],
    );
    if (active === id) return { kind: 'unchanged', version: id };
    const activation = await activate(trx, { version: id, previous: active, action: 'apply', who: options.who, gitSha: options.gitSha, message: options.message, at });
    return { kind: 'activated', version: id, previous: active, created: inserted.rows.length > 0, activation };
  });
}

export interface RollbackOptions {
  message?: string;
  expectedActive?: string | null;
  clock?: Clock;
}

/** Reactivates a stored version (a full id or a unique prefix of at least 7 hex digits). */
export async function rollback(store: Store, toVersion: string, who: string, options: RollbackOptions = {}): Promise<ActivationResult> {
  const at = new Date((options.clock ?? systemClock).now());
  return store.db.transaction(async (trx) => {
    await takeConfigLock(trx);
    const id = await resolveVersion(trx, toVersion);
    const active = await readActive(trx);
    checkExpected(options.expectedActive, active);
    if (active === id) return { kind: 'unchanged', version: id };
    const activation = await activate(trx, { version: id, previous: active, action: 'rollback', who, message: options.message, at });
    return { kind: 'activated', version: id, previous: active, created: false, activation };
  });
}

export interface ActiveInfo {
  version: string;
  activatedAt: Date;
  action: 'apply' | 'rollback';
  who: string;
  gitSha: string | null;
  message: string | null;
}

export interface VersionInfo {
  id: string;
  createdAt: Date;
  createdBy: string;
  files: number;
  active: boolean;
  lastActivatedAt: Date | null;
}

export interface ActivationRecord {
  seq: number;
  version: string;
  previous: string | null;
  action: 'apply' | 'rollback';
  who: string;
  gitSha: string | null;
  message: string | null;
  at: Date;
  active: boolean;
}

export type OutboxStatus = 'queued' | 'sending' | 'sent' | 'failed' | 'ambiguous';

export interface EngineStatus {
  active: ActiveInfo | null;
  /** Newest first. */
  versions: VersionInfo[];
  /** Newest first, at most `historyLimit`. */
  history: ActivationRecord[];
  /** Active runs whose timer is due at `now` and not claimed (work the worker has not caught up with). */
  dueTimers: number;
  activeRuns: number;
  /** Messages per outbox status, except `sent` (terminal, and unbounded). */
  outbox: Record<Exclude<OutboxStatus, 'sent'>, number>;
  /** Per queue: seconds the oldest due, unclaimed item has waited (queue-depths.ts). */
  lagSeconds: QueueDepths['lagSeconds'];
  /** Per channel of the active version (and any other with attempts in 24 h): counts, last error, verdict. */
  channels: ChannelHealth[];
  /** The newest RFM/CLV fit (worker/customer-models.ts); null before the first or when nothing reads them. */
  models: { fittedAt: Date; rfmPopulation: number | null; clv: { ok: boolean; problem?: string } | null } | null;
}

export async function status(store: Store, options: { clock?: Clock; historyLimit?: number; versionLimit?: number } = {}): Promise<EngineStatus> {
  const now = new Date((options.clock ?? systemClock).now());
  const db = store.db;
  const activeRows = (
    await db.raw(`SELECT version, at, action, who, git_sha, message FROM activations WHERE active`)
  ).rows as { version: string; at: Date; action: 'apply' | 'rollback'; who: string; git_sha: string | null; message: string | null }[];
  const versions = (
    await db.raw(
      `SELECT v.id, v.created_at, v.created_by, jsonb_array_length(v.content -> 'files') AS files,
              coalesce(a.active, false) AS active, a.last_activated_at
         FROM config_versions v
         LEFT JOIN (SELECT version, bool_or(active) AS active, max(at) AS last_activated_at FROM activations GROUP BY version) a
           ON a.version = v.id
        ORDER BY v.created_at DESC, v.id
        LIMIT ?`,
      [options.versionLimit ?? 50],
    )
  ).rows as { id: string; created_at: Date; created_by: string; files: number; active: boolean; last_activated_at: Date | null }[];
  const history = (await db.raw(`SELECT seq, version, previous, action, who, git_sha, message, at, active FROM activations ORDER BY seq DESC LIMIT ?`, [options.historyLimit ?? 20]))
    .rows as { seq: number | string; version: string; previous: string | null; action: 'apply' | 'rollback'; who: string; git_sha: string | null; message: string | null; at: Date; active: boolean }[];
  const queues = await readQueueDepths(db, now.getTime());
  const a = activeRows[0];
  const channels = await readChannelHealth(db, now.getTime(), a ? await configuredChannels(store, a.version) : []);
  const fit = (await db.raw(`SELECT done_at, models FROM model_fits WHERE done_at IS NOT NULL AND models IS NOT NULL ORDER BY due_at DESC LIMIT 1`)).rows[0] as
    | { done_at: Date; models: StoredModels }
    | undefined;
  return {
    active: a ? { version: a.version, activatedAt: a.at, action: a.action, who: a.who, gitSha: a.git_sha, message: a.message } : null,
    versions: versions.map((v) => ({ id: v.id, createdAt: v.created_at, createdBy: v.created_by, files: Number(v.files), active: Boolean(v.active), lastActivatedAt: v.last_activated_at })),
    history: history.map((h) => ({ seq: Number(h.seq), version: h.version, previous: h.previous, action: h.action, who: h.who, gitSha: h.git_sha, message: h.message, at: h.at, active: h.active })),
    dueTimers: queues.dueRuns,
    activeRuns: queues.activeRuns,
    outbox: queues.outbox,
    lagSeconds: queues.lagSeconds,
    channels,
    models: fit
      ? {
          fittedAt: fit.done_at,
          rfmPopulation: fit.models.rfm ? fit.models.rfm.population : null,
          clv: fit.models.clv ? { ok: fit.models.clv.ok, ...(fit.models.clv.problem ? { problem: fit.models.clv.problem } : {}) } : null,
        }
      : null,
  };
}

/** The channel names of a stored version; none when it no longer loads (status still reports the rest). */
async function configuredChannels(store: Store, version: string): Promise<string[]> {
  try {
    const loaded = loadConfigFiles((await loadVersionFiles(store, version)).files);
    return loaded.project ? [...loaded.project.channels.keys()] : [];
  } catch {
    return [];
  }
}

/** The active version's id, or null. */
export async function activeVersion(db: Knex | Knex.Transaction): Promise<string | null> {
  return readActive(db);
}

/** The files of a stored version (full id or unique prefix). */
export async function loadVersionFiles(store: Store, version: string): Promise<{ id: string; files: ConfigFile[] }> {
  const id = await resolveVersion(store.db, version);
  const row = (await store.db.raw(`SELECT content FROM config_versions WHERE id = ?`, [id])).rows[0] as { content: { files: ConfigFile[] } };
  return { id, files: row.content.files };
}

/** The active version loaded as a Project (undefined when nothing is active). */
export async function loadActiveProject(store: Store): Promise<{ version: string; project: Project } | undefined> {
  const id = await readActive(store.db);
  if (!id) return undefined;
  const { files } = await loadVersionFiles(store, id);
  const loaded = loadConfigFiles(files);
  // A stored version was valid when applied; failing now means Herald's rules changed under it.
  if (!loaded.project) throw new ConfigInvalidError(loaded.diagnostics);
  return { version: id, project: loaded.project };
}

async function takeConfigLock(trx: Knex.Transaction): Promise<void> {
  const row = (await trx.raw(`SELECT pg_try_advisory_xact_lock(${LOCK_CLASS.config}, ${SCHEMA_LOCK_KEY}) AS ok`)).rows[0] as { ok: boolean };
  if (!row.ok) {
    throw new EngineError('conflict', ENGINE_CODE.lockHeld, 'another apply or rollback is in progress', 'wait for it to finish, then plan and apply again');
  }
}

async function readActive(db: Knex | Knex.Transaction): Promise<string | null> {
  const rows = (await db.raw(`SELECT version FROM activations WHERE active`)).rows as { version: string }[];
  return rows[0]?.version ?? null;
}

function checkExpected(expected: string | null | undefined, active: string | null): void {
  if (expected === undefined) return;
  const matches = expected === null ? active === null : active !== null && expected.length >= 7 && active.startsWith(expected.toLowerCase());
  if (!matches) {
    throw new EngineError(
      'conflict',
      ENGINE_CODE.staleActive,
      `the plan expected ${expected === null ? 'no active version' : `version ${short(expected)}`} but ${active === null ? 'none' : short(active)} is active`,
      'the configuration changed since the plan was made: plan again and review',
    );
  }
}

async function resolveVersion(db: Knex | Knex.Transaction, version: string): Promise<string> {
  const prefix = version.trim().toLowerCase();
  if (!/^[0-9a-f]{7,64}$/.test(prefix)) {
    throw new EngineError('not_found', ENGINE_CODE.unknownVersion, `'${version}' is not a version id (7 to 64 hex digits)`);
  }
  const rows = (await db.raw(`SELECT id FROM config_versions WHERE id LIKE ? ORDER BY id LIMIT 2`, [`${prefix}%`])).rows as { id: string }[];
  if (rows.length === 0) throw new EngineError('not_found', ENGINE_CODE.unknownVersion, `no configuration version ${prefix}`, 'herald status lists the stored versions');
  if (rows.length > 1) throw new EngineError('invalid', ENGINE_CODE.ambiguousVersion, `${prefix} matches more than one version`, 'give more digits');
  return rows[0].id;
}

interface Activation {
  version: string;
  previous: string | null;
  action: 'apply' | 'rollback';
  who: string;
  gitSha?: string;
  message?: string;
  at: Date;
}

async function activate(trx: Knex.Transaction, a: Activation): Promise<number> {
  await trx.raw(`UPDATE activations SET active = false WHERE active`);
  const row = (
    await trx.raw(
      `INSERT INTO activations (version, previous, action, who, git_sha, message, at, active) VALUES (?, ?, ?, ?, ?, ?, ?, true) RETURNING seq`,
      [a.version, a.previous, a.action, a.who, a.gitSha ?? null, a.message ?? null, a.at],
    )
  ).rows[0] as { seq: number | string };
  return Number(row.seq);
}

export function short(version: string): string {
  return version.slice(0, 12);
}
