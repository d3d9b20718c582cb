// Population models for the engine's `rfm.*` and `clv.*` inputs: RFM quintile boundaries and the BG/NBD +
// Gamma-Gamma fit, computed from the stored events on a cadence (default daily) and kept as one small row.
// Only the population-wide part is stored; a customer's own values are computed when an expression reads them,
// from the customer's events at that instant, with the same code the plan uses (analytics/). So scores move
// with a customer's purchases between refits, against boundaries and parameters that hold until the next one
// (the plan holds both over its window; DESIGN leaves the engine's cadence open).
//
// A fit is a durable job like the entry sweeps: one `model_fits` row per due instant (multiples of the refit
// interval; the first at once after activation), created once across replicas by its key, claimed with a lease
// so a crashed fitter's row is taken over, computed outside any transaction (reads can take seconds on a big
// store; PGlite must not be held), and written with `done_at`. The newest finished row is what inputs read.
import type { Knex } from 'knex';
import { clvInputValues, fitClv, summarizeTransactions, type ClvFit } from '../../analytics/clv/index.js';
import { RFM_GRID } from '../../analytics/rfm.js';
import type { Project } from '../../config/model.js';
import type { ClvInput, InputValue, RfmInput } from '../../model/inputs.js';
import { projectInputs } from '../../config/project-inputs.js';
import type { ClvSettings, RfmSettings } from '../../model/data-model.js';
import type { Clock } from '../clock.js';
import type { Store } from '../store/open-store.js';
import type { ProjectLoader } from './projects.js';

export const DEFAULT_REFIT_MS = 86_400_000;

/** What one fit stored (model_fits.models). */
export interface StoredModels {
  /** The instant the fit describes. */
  at: number;
  rfm?: {
    /** JSON of the settings the boundaries were computed under: a configuration with others ignores them. */
    settings: string;
    /** Customers in the population (a monetary event in the window). */
    population: number;
    /** Per dimension, the four values a score must exceed to reach 2..5 (recency as the last event's time). */
    boundaries: { r: number[]; f: number[]; m: number[] } | null;
  };
  clv?: {
    settings: string;
    ok: boolean;
    /** Why not, when not ok. */
    problem?: string;
    unitMs: number;
    bgnbd?: { r: number; alpha: number; a: number; b: number };
    gammaGamma?: { p: number; q: number; gamma: number } | null;
  };
}

/** The models a project's expressions read, and the settings they need. */
function modelsUsed(project: Project): { rfm?: RfmSettings; clv?: ClvSettings } {
  const inputs = projectInputs(project);
  const out: { rfm?: RfmSettings; clv?: ClvSettings } = {};
  if (inputs.some((i) => i.kind === 'rfm') && project.model.rfm) out.rfm = project.model.rfm;
  if (inputs.some((i) => i.kind === 'clv') && project.model.clv) out.clv = project.model.clv;
  return out;
}

export interface RefitOptions {
  store: Store;
  projects: ProjectLoader;
  clock: Clock;
  /** Default one day. */
  refitMs?: number;
  /** How long a claimed fit is reserved (default 10 min). */
  leaseMs?: number;
  worker?: string;
}

/**
 * Creates the fit due now for the active configuration (when its expressions read rfm or clv) and runs any
 * due fit nobody holds. Returns whether a fit was completed.
 */
export async function refitModels(options: RefitOptions): Promise<boolean> {
  const active = await options.projects.active();
  if (!active) return false;
  const now = options.clock.now();
  const db = options.store.db;
  const used = modelsUsed(active.project);
  if (used.rfm || used.clv) {
    const every = options.refitMs ?? DEFAULT_REFIT_MS;
    await db.raw(`INSERT INTO model_fits (due_at, config_version, created_at) VALUES (?, ?, ?) ON CONFLICT (due_at) DO NOTHING`, [
      new Date(Math.floor(now / every) * every),
      active.version,
      new Date(now),
    ]);
    // A configuration whose model settings the newest fit was not made under gets its own fit at once; one,
    // not one per tick while it runs.
    const latest = await latestModels(db);
    if (latest && ((used.rfm && latest.rfm?.settings !== JSON.stringify(used.rfm)) || (used.clv && latest.clv?.settings !== JSON.stringify(used.clv)))) {
      await db.raw(
        `INSERT INTO model_fits (due_at, config_version, created_at) SELECT ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM model_fits WHERE done_at IS NULL AND config_version = ?)
         ON CONFLICT (due_at) DO NOTHING`,
        [new Date(now), active.version, new Date(now), active.version],
      );
    }
  }
  const claimed = (
    await db.raw(
      `UPDATE model_fits SET lease_owner = ?, lease_until = ?
        WHERE due_at = (SELECT due_at FROM model_fits WHERE done_at IS NULL AND due_at <= ? AND (lease_until IS NULL OR lease_until < ?)
                         ORDER BY due_at DESC LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING due_at, config_version`,
      [options.worker ?? 'worker', new Date(now + (options.leaseMs ?? 600_000)), new Date(now), new Date(now)],
    )
  ).rows[0] as { due_at: Date; config_version: string } | undefined;
  if (!claimed) return false;
  const project = await options.projects.version(claimed.config_version);
  const models = await fitModels(db, project, now);
  await db.raw(
    `UPDATE model_fits SET models = ?::jsonb, done_at = ?, lease_owner = NULL, lease_until = NULL WHERE due_at = ?`,
    [JSON.stringify(models), new Date(options.clock.now()), claimed.due_at],
  );
  // Older unfinished rows (missed while down) add nothing now that a newer fit exists.
  await db.raw(`UPDATE model_fits SET done_at = ?, models = NULL WHERE done_at IS NULL AND due_at < ?`, [new Date(options.clock.now()), claimed.due_at]);
  return true;
}

/** Fits the models `project` reads on the events stored up to `at`. */
export async function fitModels(db: Knex, project: Project, at: number): Promise<StoredModels> {
  const used = modelsUsed(project);
  const out: StoredModels = { at };
  if (used.rfm) out.rfm = await fitRfm(db, used.rfm, at);
  if (used.clv) out.clv = await fitClvModel(db, used.clv, at);
  return out;
}

const PROP_NUMBER = (prop: string) => `CASE WHEN jsonb_typeof(props->'${prop.replace(/'/g, "''")}') = 'number' THEN (props->>'${prop.replace(/'/g, "''")}')::float8 END`;

async function fitRfm(db: Knex, settings: RfmSettings, at: number): Promise<NonNullable<StoredModels['rfm']>> {
  const { event, prop } = settings.monetary;
  const rows = (
    await db.raw(
      `SELECT trunc(extract(epoch FROM max(ts)) * 1000)::float8 AS last, count(*)::float8 AS n, coalesce(sum(${PROP_NUMBER(prop)}), 0)::float8 AS m
         FROM events WHERE type = ? AND ts > ? AND ts <= ? GROUP BY customer_id`,
      [event, new Date(at - settings.windowMs), new Date(at)],
    )
  ).rows as { last: number; n: number; m: number }[];
  const population = rows.length;
  const boundaries =
    population === 0
      ? null
      : {
          r: quintileBoundaries(rows.map((r) => Number(r.last))),
          f: quintileBoundaries(rows.map((r) => Number(r.n))),
          m: quintileBoundaries(rows.map((r) => Number(r.m))),
        };
  return { settings: JSON.stringify(settings), population, boundaries };
}

/**
 * The values of ranks ceil(s·N/5) − 1 (s = 1..4) of the population, ascending: by the tie rule of
 * analytics/rfm.ts a score is 1 + the number of these a value exceeds, for members and newcomers alike.
 */
export function quintileBoundaries(values: number[]): number[] {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  return [1, 2, 3, 4].map((s) => sorted[Math.ceil((s * n) / 5) - 1]);
}

async function fitClvModel(db: Knex, settings: ClvSettings, at: number): Promise<NonNullable<StoredModels['clv']>> {
  const { event, prop } = settings.transaction;
  // Customers a page at a time (keyset on the id), each one's transactions as two arrays: typed arrays grow
  // instead of a row object per transaction.
  let offsets = new Int32Array(1024);
  let ts = new Float64Array(4096);
  let amount = new Float64Array(4096);
  let customers = 0;
  let total = 0;
  let after = '';
  for (;;) {
    const page = (
      await db.raw(
        `SELECT customer_id, array_agg(trunc(extract(epoch FROM ts) * 1000)::float8 ORDER BY ts, id) AS ts, array_agg(${PROP_NUMBER(prop)} ORDER BY ts, id) AS amount
           FROM events WHERE type = ? AND ts <= ? AND customer_id > ? GROUP BY customer_id ORDER BY customer_id LIMIT 20000`,
        [event, new Date(at), after],
      )
    ).rows as { customer_id: string; ts: (number | string)[]; amount: (number | string | null)[] }[];
    for (const r of page) {
      if (customers + 2 > offsets.length) {
        const bigger = new Int32Array(offsets.length * 2);
        bigger.set(offsets);
        offsets = bigger;
      }
      if (total + r.ts.length > ts.length) {
        const size = Math.max(ts.length * 2, total + r.ts.length);
        ts = growFloats(ts, size);
        amount = growFloats(amount, size);
      }
      for (let k = 0; k < r.ts.length; k++) {
        ts[total + k] = Number(r.ts[k]);
        const v = r.amount[k];
        amount[total + k] = v === null ? Number.NaN : Number(v);
      }
      total += r.ts.length;
      customers++;
      offsets[customers] = total;
    }
    if (page.length < 20000) break;
    after = page[page.length - 1].customer_id;
  }
  const fit = fitClv({ offsets: offsets.subarray(0, customers + 1), ts: ts.subarray(0, total), amount: amount.subarray(0, total) }, settings, at);
  const base = { settings: JSON.stringify(settings), unitMs: settings.unitMs };
  if (!fit.ok) return { ...base, ok: false, problem: fit.diagnostic.message };
  const { r, alpha, a, b } = fit.bgnbd;
  return { ...base, ok: true, bgnbd: { r, alpha, a, b }, gammaGamma: fit.gammaGamma ? { p: fit.gammaGamma.p, q: fit.gammaGamma.q, gamma: fit.gammaGamma.gamma } : null };
}

function growFloats(a: Float64Array, size: number): Float64Array<ArrayBuffer> {
  const out = new Float64Array(size);
  out.set(a);
  return out;
}

/** The newest finished fit (undefined before the first). */
export async function latestModels(db: Knex | Knex.Transaction): Promise<StoredModels | undefined> {
  const row = (await db.raw(`SELECT models FROM model_fits WHERE done_at IS NOT NULL AND models IS NOT NULL ORDER BY due_at DESC LIMIT 1`)).rows[0] as { models: StoredModels } | undefined;
  return row?.models;
}

/** A customer's events as the models read them. */
export interface ModelEvents {
  events: readonly { type: string; ts: number; props: Readonly<Record<string, unknown>> }[];
}

/** rfm.r/f/m/score/segment of a customer at `at` (null outside the population or without a usable fit). */
export function rfmValue(models: StoredModels | undefined, project: Project, customer: ModelEvents, spec: RfmInput, at: number): InputValue {
  const settings = project.model.rfm;
  const fit = models?.rfm;
  if (!settings || !fit?.boundaries || fit.settings !== JSON.stringify(settings)) return null;
  const { event, prop } = settings.monetary;
  let last = -Infinity;
  let n = 0;
  let m = 0;
  for (const e of customer.events) {
    if (e.type !== event || e.ts > at || e.ts <= at - settings.windowMs) continue;
    n++;
    if (e.ts > last) last = e.ts;
    const v = e.props[prop];
    if (typeof v === 'number' && Number.isFinite(v)) m += v;
  }
  if (n === 0) return null;
  const score = (x: number, b: number[]) => 1 + (b[0] < x ? 1 : 0) + (b[1] < x ? 1 : 0) + (b[2] < x ? 1 : 0) + (b[3] < x ? 1 : 0);
  const r = score(last, fit.boundaries.r);
  const f = score(n, fit.boundaries.f);
  const mm = score(m, fit.boundaries.m);
  switch (spec.field) {
    case 'r':
      return r;
    case 'f':
      return f;
    case 'm':
      return mm;
    case 'score':
      return r * 100 + f * 10 + mm;
    case 'segment':
      return RFM_GRID[r - 1][f - 1];
  }
}

/** clv.p_alive / expected_purchases / value of a customer at `at`, from the stored parameters. */
export function clvValue(models: StoredModels | undefined, project: Project, customer: ModelEvents, spec: ClvInput, at: number): InputValue {
  const settings = project.model.clv;
  const fit = models?.clv;
  if (!settings || !fit?.ok || !fit.bgnbd || fit.settings !== JSON.stringify(settings)) return null;
  const { event, prop } = settings.transaction;
  const mine = customer.events.filter((e) => e.type === event && e.ts <= at);
  if (mine.length === 0) return null;
  const tx = {
    offsets: Int32Array.of(0, mine.length),
    ts: Float64Array.from(mine, (e) => e.ts),
    amount: Float64Array.from(mine, (e) => (typeof e.props[prop] === 'number' ? (e.props[prop] as number) : Number.NaN)),
  };
  const summary = summarizeTransactions(tx, { unitMs: fit.unitMs, calibrationEnd: at });
  // Only the parameters are read (clvInputValues: ok, bgnbd, gammaGamma, unitMs); the rest is the fit's record.
  const stored = { ok: true, unitMs: fit.unitMs, bgnbd: fit.bgnbd, gammaGamma: fit.gammaGamma ?? null } as unknown as ClvFit;
  const v = clvInputValues(stored, summary, spec)[0];
  return Number.isFinite(v) ? v : null;
}
