// Per-customer values an expression needs that are not plain attributes: windowed aggregates over
// events, RFM, LTV and the CLV models. A compiled expression lists the inputs it reads; the host
// (dataset in the plan, SQL in the engine) computes exactly those and passes them in by index.
// Two specs with the same `key` are the same input, so a host computes each once for all expressions.

export type AggregateFn = 'count' | 'sum' | 'avg' | 'min' | 'max' | 'distinct' | 'first' | 'last';

/**
 * A predicate over one event's props (the `where:` of count/sum/...). `test(props)` returns true when the
 * event matches; props hold the event's own fields by name (timestamps as epoch ms, lists as arrays).
 */
export interface EventPredicate {
  /** Canonical text of the condition; part of the input key. */
  canonical: string;
  /** Props of the event the predicate reads. */
  props: readonly string[];
  test(props: Readonly<Record<string, unknown>>): boolean;
}

export interface AggregateInput {
  kind: 'aggregate';
  key: string;
  fn: AggregateFn;
  event: string;
  /** The numeric (or any, for distinct) prop aggregated; absent for count/first/last. */
  prop?: string;
  /** Only events with ts in (now - withinMs, now] count; absent means all history up to now. */
  withinMs?: number;
  where?: EventPredicate;
}

export type RfmField = 'r' | 'f' | 'm' | 'score' | 'segment';

export interface RfmInput {
  kind: 'rfm';
  key: string;
  field: RfmField;
}

/** Historical revenue: sum of the RFM monetary prop over all history up to now. */
export interface LtvInput {
  kind: 'ltv';
  key: string;
}

export type ClvFn = 'p_alive' | 'expected_purchases' | 'value';

export interface ClvInput {
  kind: 'clv';
  key: string;
  fn: ClvFn;
  /** Horizon for expected_purchases / value, in milliseconds. */
  horizonMs?: number;
  /** Annual discount rate for value (0.1 = 10%); absent means no discounting. */
  discountRate?: number;
}

export type InputSpec = AggregateInput | RfmInput | LtvInput | ClvInput;

/**
 * Value conventions for inputs: count/distinct → number (0 when none); sum → number (0 when none);
 * avg/min/max → number or null when no event; first/last → timestamp (epoch ms) or null;
 * rfm r/f/m/score → number 1..5 / 111..555 or null for a customer with no monetary event in the window,
 * rfm segment → string or null; ltv → number (0 when none); clv.* → number or null when no fit is available.
 */
export type InputValue = number | string | null;
