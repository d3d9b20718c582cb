// "Why did / didn't customer X get message Y?": the customer's own trace from the same simulation the
// plan runs, plus each top-level condition of the segments that gate the journeys, evaluated at `now`.
import { compileExpression } from '../expr/index.js';
import type { Project } from '../config/model.js';
import type { Dataset } from '../dataset/dataset.js';
import { CustomerInputs, type DerivedProvider } from './customer-inputs.js';
import type { SimulationResult } from './simulate.js';

export interface ConditionCheck {
  segment: string;
  holds: boolean;
  parts: { text: string; holds: boolean }[];
}

/** Splits an expression at its top-level `and`s (outside brackets and strings). */
export function topLevelConjuncts(source: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let start = 0;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i];
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = null;
      continue;
    }
    if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '(' || ch === '[') depth++;
    else if (ch === ')' || ch === ']') depth--;
    else if (depth === 0 && /\s/.test(ch) && source.slice(i + 1, i + 4) === 'and' && /\s/.test(source[i + 4] ?? '')) {
      parts.push(source.slice(start, i).trim());
      start = i + 4;
      i += 3;
    }
  }
  parts.push(source.slice(start).trim());
  return parts.filter(Boolean);
}

export function checkSegments(project: Project, dataset: Dataset, customer: number, now: number, derived: DerivedProvider, names: readonly string[]): ConditionCheck[] {
  const inputs = new CustomerInputs(dataset, derived);
  const profile = dataset.profile(customer);
  const memo = new Map<string, boolean>();
  const member = (name: string): boolean => {
    const known = memo.get(name);
    if (known !== undefined) return known;
    const def = project.segments.get(name);
    if (!def) return false;
    memo.set(name, false);
    const v = def.where.test({ now, customerId: dataset.customerId(customer), profile, inputs: inputs.fill(customer, def.where.inputs, now, []), segment: member });
    memo.set(name, v);
    return v;
  };
  const segmentNames = new Set(project.segments.keys());
  return names.map((name) => {
    const def = project.segments.get(name)!;
    const parts = topLevelConjuncts(def.where.source).map((text) => {
      const compiled = compileExpression(text, { model: project.model, context: { kind: 'profile' }, segments: segmentNames, expected: 'bool' }).expression;
      const holds = compiled ? compiled.test({ now, customerId: dataset.customerId(customer), profile, inputs: inputs.fill(customer, compiled.inputs, now, []), segment: member }) : false;
      return { text, holds };
    });
    return { segment: name, holds: member(name), parts };
  });
}

export function renderExplanation(
  project: Project,
  dataset: Dataset,
  customer: number,
  result: SimulationResult,
  checks: readonly ConditionCheck[],
  journey: string | undefined,
  contact: string,
): string {
  const id = dataset.customerId(customer);
  let out = `customer ${id} ${contact}\n`;
  for (const c of checks) {
    out += `\nsegment ${c.segment}: ${c.holds ? 'member' : 'not a member'} at the start of the window\n`;
    for (const p of c.parts) out += `  ${p.holds ? '✓' : '✗'} ${p.text}\n`;
  }
  const entries = (result.traces.get(customer) ?? []).filter((r) => !journey || r.journey === journey || !r.journey);
  out += `\ntimeline${journey ? ` (journey ${journey})` : ''}:\n`;
  if (!entries.some((e) => e.journey)) out += `  entered no journey${journey ? ` '${journey}'` : ''} in the window\n`;
  for (const e of entries) out += `  ${new Date(e.at).toISOString()}  ${e.journey ? `${e.journey}${e.step ? `/${e.step}` : ''}: ` : ''}${e.what}\n`;
  void project;
  return out;
}
