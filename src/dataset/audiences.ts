// The audience of every segment at one `now` (DESIGN §4.3, §5): each compiled segment expression is
// evaluated for every customer with the inputs computed in one pass. segment("x") reads the membership
// already computed for x, so segments run in dependency order (a cycle is reported, not evaluated).
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import type { CompiledExpression, EvalEnv } from '../expr/api.js';
import type { InputSpec, InputValue } from '../model/inputs.js';
import { computeInputs, type ClvProvider, type InputTable } from './compute-inputs.js';
import type { Dataset } from './dataset.js';
import { maskValue } from './mask.js';

export interface SegmentInput {
  name: string;
  expression: CompiledExpression;
}

export interface AudienceOptions {
  /** Members shown per segment (default 5). */
  sampleSize?: number;
  /** Show emails and phones in samples unmasked (default false). */
  unmask?: boolean;
  /** Salt for bucket(N) (EvalEnv.bucketSeed). */
  bucketSeed?: string;
  clvProvider?: ClvProvider;
  /** Inputs already computed at the same `now` (must contain every spec the segments read). */
  inputs?: InputTable;
}

export interface SampleMember {
  id: string;
  /** All attributes, with email/phone masked unless `unmask`. */
  profile: Record<string, unknown>;
}

export interface Audience {
  name: string;
  size: number;
  /** members[i] is 1 when customer i is in the segment. */
  members: Uint8Array;
  sample: SampleMember[];
}

export interface AudienceResult {
  now: number;
  customerCount: number;
  /** In the order the segments were given. */
  audiences: Audience[];
  /** Evaluation order (dependencies first); segments in a cycle are left out. */
  order: string[];
  inputs: InputTable;
  diagnostics: Diagnostic[];
}

/** Dependencies first; ties in the given order. Returns the order and the names caught in cycles. */
export function orderSegments(segments: readonly SegmentInput[]): { order: string[]; cyclic: string[]; unknown: Map<string, string[]> } {
  const names = new Set(segments.map((s) => s.name));
  const unknown = new Map<string, string[]>();
  const deps = new Map<string, string[]>();
  for (const s of segments) {
    const known = s.expression.segments.filter((d) => names.has(d));
    const missing = s.expression.segments.filter((d) => !names.has(d));
    if (missing.length > 0) unknown.set(s.name, missing);
    deps.set(s.name, known);
  }
  const order: string[] = [];
  const placed = new Set<string>();
  let progress = true;
  while (progress) {
    progress = false;
    for (const s of segments) {
      if (placed.has(s.name)) continue;
      if (deps.get(s.name)!.every((d) => placed.has(d))) {
        placed.add(s.name);
        order.push(s.name);
        progress = true;
      }
    }
  }
  return { order, cyclic: segments.map((s) => s.name).filter((n) => !placed.has(n)), unknown };
}

export function computeAudiences(
  dataset: Dataset,
  segments: readonly SegmentInput[],
  now: number,
  options: AudienceOptions = {},
): AudienceResult {
  const n = dataset.customerCount;
  const diagnostics: Diagnostic[] = [];
  const { order, cyclic, unknown } = orderSegments(segments);
  for (const name of cyclic) {
    diagnostics.push({ code: 'HER5060', severity: 'error', message: `segment "${name}" is in, or depends on, a cycle of segment() references; not evaluated` });
  }
  for (const [name, missing] of unknown) {
    diagnostics.push({ code: 'HER5061', severity: 'warning', message: `segment "${name}" refers to unknown segment(s) ${missing.map((m) => `"${m}"`).join(', ')} (false)` });
  }
  const byName = new Map(segments.map((s) => [s.name, s]));
  const specs: InputSpec[] = segments.flatMap((s) => s.expression.inputs);
  const inputs = options.inputs ?? computeInputs(dataset, specs, now, { clvProvider: options.clvProvider });
  const members = new Map(segments.map((s) => [s.name, new Uint8Array(n)]));

  const attributes = [...new Set(segments.flatMap((s) => s.expression.attributes))];
  let current = 0;
  let idFor = -1;
  let id = '';
  let profileFor = -1;
  let profile: Record<string, unknown> = {};
  const env: EvalEnv = {
    now,
    get customerId() {
      if (idFor !== current) {
        id = dataset.customerId(current);
        idFor = current;
      }
      return id;
    },
    get profile() {
      if (profileFor !== current) {
        profile = dataset.profile(current, attributes);
        profileFor = current;
      }
      return profile;
    },
    inputs: [],
    segment: (name) => members.get(name)?.[current] === 1,
    bucketSeed: options.bucketSeed,
  };
  const steps = order.map((name) => {
    const seg = byName.get(name)!;
    return { expr: seg.expression, out: members.get(name)!, fill: inputs.bind(seg.expression.inputs), values: [] as InputValue[] };
  });
  for (let i = 0; i < n; i++) {
    current = i;
    for (const step of steps) {
      env.inputs = step.fill(i, step.values);
      if (step.expr.test(env)) step.out[i] = 1;
    }
  }

  const sampleSize = options.sampleSize ?? 5;
  const audiences = segments.map((s): Audience => {
    const m = members.get(s.name)!;
    let size = 0;
    for (let i = 0; i < n; i++) size += m[i];
    return { name: s.name, size, members: m, sample: sampleMembers(dataset, m, size, sampleSize, options.unmask ?? false) };
  });
  return { now, customerCount: n, audiences, order, inputs, diagnostics };
}

/** k members spread evenly over the segment (deterministic: member positions j*size/k). */
function sampleMembers(dataset: Dataset, members: Uint8Array, size: number, k: number, unmask: boolean): SampleMember[] {
  const take = Math.min(k, size);
  if (take === 0) return [];
  const wanted = Array.from({ length: take }, (_, j) => Math.floor((j * size) / take));
  const out: SampleMember[] = [];
  let pos = 0;
  let w = 0;
  for (let i = 0; i < members.length && w < take; i++) {
    if (members[i] !== 1) continue;
    if (pos === wanted[w]) {
      const profile = dataset.profile(i);
      if (!unmask) for (const [name, field] of dataset.model.attributes) profile[name] = maskValue(field, profile[name]);
      out.push({ id: dataset.customerId(i), profile });
      w++;
    }
    pos++;
  }
  return out;
}
