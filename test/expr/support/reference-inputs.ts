// The reference computation of per-customer inputs: a plain loop over a customer's events that pins the
// InputSpec semantics of model/inputs.ts. Window: events with ts in (now - within, now]; events after now
// never count. count / sum / distinct are 0 when nothing matches; avg / min / max / first / last are null.
// sum, avg, min, max skip null props (as SQL aggregates do); distinct counts distinct non-null values.
// ltv sums the RFM monetary prop over all history up to now. rfm.* and clv.* come from the case.
import type { DataModel } from '../../../src/model/data-model.js';
import type { AggregateInput, InputValue } from '../../../src/model/inputs.js';

export interface CorpusEvent {
  type: string;
  /** Epoch ms. */
  ts: number;
  props: Record<string, unknown>;
}

/** What the reference loop needs of an input: its spec minus the predicate, plus a way to test events. */
export type ReferenceInput =
  | { kind: 'aggregate'; key: string; spec: Omit<AggregateInput, 'where'>; matches(props: Record<string, unknown>): boolean }
  | { kind: 'other'; key: string; ltv: boolean };

export function computeInputs(
  inputs: readonly ReferenceInput[],
  events: readonly CorpusEvent[],
  now: number,
  model: DataModel,
  given: Readonly<Record<string, InputValue>>,
): InputValue[] {
  return inputs.map((input) => {
    if (Object.hasOwn(given, input.key)) return given[input.key];
    if (input.kind === 'other') {
      if (!input.ltv) throw new Error(`the case must give input '${input.key}' in inputs:`);
      const monetary = model.rfm?.monetary;
      if (!monetary) throw new Error('ltv needs rfm.monetary');
      return events
        .filter((e) => e.type === monetary.event && e.ts <= now)
        .reduce((sum, e) => sum + (typeof e.props[monetary.prop] === 'number' ? (e.props[monetary.prop] as number) : 0), 0);
    }
    const { spec } = input;
    const matching = events.filter(
      (e) =>
        e.type === spec.event &&
        e.ts <= now &&
        (spec.withinMs === undefined || e.ts > now - spec.withinMs) &&
        input.matches(e.props),
    );
    const values = spec.prop === undefined ? [] : matching.map((e) => e.props[spec.prop as string]).filter((v) => v !== null && v !== undefined);
    const numbers = values as number[];
    switch (spec.fn) {
      case 'count':
        return matching.length;
      case 'sum':
        return numbers.reduce((a, b) => a + b, 0);
      case 'avg':
        return numbers.length === 0 ? null : numbers.reduce((a, b) => a + b, 0) / numbers.length;
      case 'min':
        return numbers.length === 0 ? null : Math.min(...numbers);
      case 'max':
        return numbers.length === 0 ? null : Math.max(...numbers);
      case 'distinct':
        return new Set(values).size;
      case 'first':
        return matching.length === 0 ? null : Math.min(...matching.map((e) => e.ts));
      case 'last':
        return matching.length === 0 ? null : Math.max(...matching.map((e) => e.ts));
    }
  });
}
