// When can a segment's membership change without a new event of the customer? Re-evaluating every
// customer at every refresh tick is exact but costs customers × ticks; this keeps it exact and cheap.
// The condition is split into its top-level `and`s. A false conjunct that reads no clock can only turn
// true when one of its windowed aggregates loses its oldest event (an age-out) or the customer has an
// event; so the whole condition cannot hold before the latest such instant among its false conjuncts.
// Conjuncts that read `now` (days_since, hours_since, now) or other segments are checked every tick,
// except the shapes whose crossing can be bounded: `days_since(X) > K` and `not segment("S")`.
import type { Project } from '../config/model.js';
import { computeAggregates } from '../dataset/aggregate-pass.js';
import type { Dataset } from '../dataset/dataset.js';
import { upperBound } from '../dataset/dataset.js';
import type { CompiledExpression } from '../expr/api.js';
import { compileExpression, parseExpression } from '../expr/index.js';
import type { AggregateInput, InputSpec } from '../model/inputs.js';
import { topLevelConjuncts } from './explain.js';

export interface Conjunct {
  expr: CompiledExpression;
  /** Reads the clock or another segment: may change at any tick. */
  timeDependent: boolean;
  windows: AggregateInput[];
  /**
   * For `days_since(X) > K` (also >=, hours_since): X, so the instant it turns true is X + K. Such a
   * conjunct reads the clock, but only in a way whose crossing can be computed.
   */
  since?: { anchor: CompiledExpression; unitMs: number; threshold: number; strict: boolean };
  /**
   * For `count(…) >= K` (or `> K`): the count and the least value that makes the conjunct true. A count
   * only sees rows up to its instant, so a customer whose rows up to the window's end fall short never
   * satisfies it inside the window.
   */
  atLeast?: { spec: AggregateInput; min: number };
  /** For `not segment("X")` taken as clock-free (see negatedSegment): the inputs X reads. */
  negated?: readonly InputSpec[];
}

const SINCE = /^(days_since|hours_since)\((.+)\)\s*(>=|>)\s*([0-9]+(?:\.[0-9]+)?)$/;
const NOT_SEGMENT = /^not\s+segment\(\s*"([^"\\]+)"\s*\)$/;

export function segmentConjuncts(project: Project, segment: string): Conjunct[] | undefined {
  const def = project.segments.get(segment);
  if (!def) return undefined;
  const names = new Set(project.segments.keys());
  const out: Conjunct[] = [];
  for (const text of topLevelConjuncts(def.where.source)) {
    const compiled = compileExpression(text, { model: project.model, context: { kind: 'profile' }, segments: names, expected: 'bool' }).expression;
    if (!compiled) return undefined; // a split the checker does not accept: fall back to ticking
    const conjunct: Conjunct = {
      expr: compiled,
      timeDependent: compiled.usesNow || compiled.segments.length > 0,
      windows: compiled.inputs.filter((i): i is AggregateInput => i.kind === 'aggregate' && i.withinMs !== undefined),
    };
    const m = SINCE.exec(text.trim());
    if (m && compiled.segments.length === 0) {
      const anchor = compileExpression(m[2], { model: project.model, context: { kind: 'profile' }, segments: names, expected: 'timestamp' }).expression;
      if (anchor && !anchor.usesNow) {
        conjunct.since = { anchor, unitMs: m[1] === 'days_since' ? 86_400_000 : 3_600_000, threshold: Number(m[4]), strict: m[3] === '>' };
        conjunct.timeDependent = false;
      }
    }
    const negated = NOT_SEGMENT.exec(text.trim());
    if (negated && compiled.inputs.length === 0 && compiled.attributes.length === 0 && !compiled.usesNow) {
      const inner = negatedSegment(project, negated[1]);
      if (inner) {
        conjunct.timeDependent = false;
        conjunct.windows = inner.windows;
        conjunct.negated = inner.inputs;
      }
    }
    const atLeast = countLowerBound(text, compiled);
    if (atLeast) conjunct.atLeast = atLeast;
    out.push(conjunct);
  }
  return out;
}

/**
 * `not segment("X")` reads no clock of its own, but X may. When every conjunct of X is clock-free, or a
 * `days_since(A) > K` whose anchor A has no window (true stays true as time passes), a member of X stays
 * one until an event X reads or an age-out in X's windows: exactly when a clock-free conjunct over X's
 * inputs could change, so the negation is gated like one.
 */
function negatedSegment(project: Project, name: string): { windows: AggregateInput[]; inputs: InputSpec[] } | undefined {
  const def = project.segments.get(name);
  if (!def || def.where.segments.length > 0) return undefined;
  const parts = segmentConjuncts(project, name);
  if (!parts) return undefined;
  const windows: AggregateInput[] = [];
  const inputs: InputSpec[] = [];
  for (const part of parts) {
    if (part.timeDependent) return undefined;
    const anchor = part.since?.anchor;
    if (anchor && anchor.inputs.some((i) => i.kind === 'aggregate' && i.withinMs !== undefined)) return undefined;
    windows.push(...part.windows);
    inputs.push(...part.expr.inputs, ...(anchor?.inputs ?? []));
  }
  return { windows, inputs };
}

function countLowerBound(text: string, compiled: CompiledExpression): Conjunct['atLeast'] {
  const spec = compiled.inputs[0];
  if (compiled.inputs.length !== 1 || spec.kind !== 'aggregate' || spec.fn !== 'count') return undefined;
  if (compiled.usesNow || compiled.segments.length > 0 || compiled.attributes.length > 0) return undefined;
  const ast = parseExpression(text).ast;
  if (ast?.kind !== 'binary' || (ast.op !== '>=' && ast.op !== '>')) return undefined;
  const { left, right } = ast;
  if (left.kind !== 'call' || left.callee.length !== 1 || left.callee[0].name !== 'count' || right.kind !== 'number') return undefined;
  const min = ast.op === '>=' ? Math.ceil(right.value) : Math.floor(right.value) + 1;
  return min > 0 ? { spec, min } : undefined;
}

/**
 * Customers who cannot satisfy the condition at any instant in [from, to]: one of its `count(…) >= K`
 * conjuncts has fewer than K rows in the widest window it can see, (from - within, to]. Undefined when
 * no conjunct gives such a bound.
 */
export function neverMembers(dataset: Dataset, conjuncts: Conjunct[] | undefined, from: number, to: number): Uint8Array | undefined {
  const bounds = (conjuncts ?? []).flatMap((c) => (c.atLeast ? [c.atLeast] : []));
  if (bounds.length === 0) return undefined;
  const widest = bounds.map(({ spec }): AggregateInput => {
    const wide: AggregateInput = { ...spec, key: `${spec.key}|through` };
    if (spec.withinMs !== undefined) wide.withinMs = spec.withinMs + (to - from);
    return wide;
  });
  const columns = computeAggregates(dataset, widest, to);
  const never = new Uint8Array(dataset.customerCount);
  bounds.forEach(({ min }, k) => {
    const counts = columns[k];
    for (let c = 0; c < never.length; c++) if (counts[c] < min) never[c] = 1;
  });
  return never;
}

/**
 * Whether a conjunct keeps one value over the whole window: it reads only attributes and the population
 * inputs held fixed over the window (RFM scores, the CLV fit), no event, clock or other segment. False at
 * the window's start, it stays false, so the customer is never a member.
 */
export function fixedOverWindow(conjunct: Conjunct): boolean {
  const e = conjunct.expr;
  return !e.usesNow && e.segments.length === 0 && e.inputs.every((i) => i.kind === 'rfm' || i.kind === 'clv');
}

/** The next instant after `at` when one of the conjunct's windowed aggregates loses an event. */
export function nextAgeOut(dataset: Dataset, customer: number, conjunct: Conjunct, at: number): number {
  let next = Infinity;
  for (const spec of conjunct.windows) {
    const table = dataset.eventTable(spec.event);
    if (!table) continue;
    const s = table.offsets[customer];
    const e = table.offsets[customer + 1];
    const hi = upperBound(table.ts, s, e, at);
    const lo = upperBound(table.ts, s, hi, at - spec.withinMs!);
    if (lo < hi) next = Math.min(next, table.ts[lo] + spec.withinMs!);
  }
  return next;
}

/**
 * Which customers a segment-entry journey must look at, tick by tick. Everyone at the first tick; after
 * that a customer is due at the first tick at or after the instant their condition could change.
 */
export class SegmentGate {
  private readonly buckets = new Map<number, number[]>();
  private readonly customers: number;
  private readonly stamp: Int32Array;
  private first = true;
  /** Event types the clock-free conjuncts read (RFM and CLV are held fixed over the window). */
  readonly types = new Set<string>();
  /** `types` by event table id, for the per-event check. */
  readonly readsType: Uint8Array;

  constructor(
    readonly conjuncts: Conjunct[] | undefined,
    dataset: Dataset,
    private readonly start: number,
    private readonly refresh: number,
    monetaryEvent: string | undefined,
    /** 1 for customers who are never members inside the window (see neverMembers): never looked at. */
    readonly never: Uint8Array | undefined,
  ) {
    this.customers = dataset.customerCount;
    this.stamp = new Int32Array(this.customers).fill(-1);
    for (const c of conjuncts ?? []) {
      for (const input of [...c.expr.inputs, ...(c.since?.anchor.inputs ?? []), ...(c.negated ?? [])]) {
        if (input.kind === 'aggregate') this.types.add(input.event);
        if (input.kind === 'ltv' && monetaryEvent) this.types.add(monetaryEvent);
      }
    }
    this.readsType = Uint8Array.from(dataset.eventTables, (t) => (this.types.has(t.name) ? 1 : 0));
  }

  private tickOf(t: number): number {
    return Math.ceil((t - this.start) / this.refresh);
  }

  /** Due at the first tick at or after `t`, and never at the tick of `at` itself (already handled). */
  schedule(customer: number, t: number, at: number): void {
    if (t === Infinity || this.never?.[customer] === 1) return;
    const k = Math.max(this.tickOf(t), this.tickOf(at) + (t <= at ? 1 : 0), 0);
    let bucket = this.buckets.get(k);
    if (!bucket) this.buckets.set(k, (bucket = []));
    bucket.push(customer);
  }

  /** Customers due at the tick at `at`, each once, in index order (deterministic). */
  due(at: number): ArrayLike<number> {
    const k = this.tickOf(at);
    if (this.first) {
      this.first = false;
      this.buckets.delete(k);
      const never = this.never;
      if (!never) {
        const everyone = new Int32Array(this.customers);
        for (let i = 0; i < everyone.length; i++) everyone[i] = i;
        return everyone;
      }
      const out: number[] = [];
      for (let i = 0; i < this.customers; i++) if (never[i] === 0) out.push(i);
      return out;
    }
    const bucket = this.buckets.get(k);
    this.buckets.delete(k);
    if (!bucket) return [];
    const out: number[] = [];
    for (const c of bucket) {
      if (this.stamp[c] === k) continue;
      this.stamp[c] = k;
      out.push(c);
    }
    return out.sort((a, b) => a - b);
  }
}
