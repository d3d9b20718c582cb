// The plan as data: what `herald plan --format json` writes (with format_version) and what every
// reporter renders. Plain JSON (no Maps, no Dates) so a saved plan can be shown again (`herald show`).
// Emails and phones are masked unless the plan was made with --unmask.

export const PLAN_FORMAT_VERSION = 1;

export type ChangeKind = '+' | '~' | '-';
export type GuardStatus = 'ok' | 'warn' | 'error';

export interface ConfigChange {
  kind: string; // Segment, Journey, ...
  name: string;
  change: ChangeKind;
  /** Where the object is in head ('+', '~') or was in base ('-'). */
  file: string;
  line: number;
  /** Renamed from (metadata.previousNames). */
  renamedFrom?: string;
}

export interface SegmentOutcome {
  name: string;
  description?: string;
  size: number;
  /** Size on the base side; null when the segment is new. Absent when no base was compared. */
  baseSize?: number | null;
  /** size - baseSize, and percent of baseSize (null when baseSize is 0 or null). */
  change?: number;
  changePct?: number | null;
  /** A few members, masked: e.g. "c-00017 a***@e***.com". */
  sample: string[];
}

export type SuppressionReason = 'no_address' | 'no_consent' | 'frequency_cap' | 'quiet_hours' | 'budget' | 'condition';

export interface StepOutcome {
  id: string;
  /** send | cascade | wait | branch | split | exit */
  kind: string;
  /** Human label, e.g. "email: welcome", "cascade winback-offer (push → email → sms)", "wait 2d". */
  label: string;
  entered: number;
  /** Messages sent per channel name. */
  sent: Record<string, number>;
  delivered: number;
  opened: number;
  clicked: number;
  /** Sends that did not happen, by reason. */
  suppressed: Partial<Record<SuppressionReason, number>>;
  /** Sends moved later by quiet hours or a cap with on_cap: defer. */
  deferred: number;
  cost: number;
}

export interface JourneyOutcome {
  name: string;
  description?: string;
  class: 'marketing' | 'service' | 'transactional';
  /** "event signup", "segment lapsed-loyal", "schedule 0 10 * * MON + segment loyal-big-spenders". */
  entry: string;
  entered: number;
  heldOut: number;
  /** Reached the goal within its window (organic in a backtest). */
  converted: number;
  exited: number;
  messages: number;
  cost: number;
  steps: StepOutcome[];
  /** The same journey on the base side (absent when new or when no base was compared). */
  base?: { entered: number; messages: number; cost: number; converted: number };
}

export interface ChannelOutcome {
  name: string;
  type: 'email' | 'sms' | 'push' | 'webhook';
  sent: number;
  delivered: number;
  opened: number;
  clicked: number;
  /** SMS segments (cost unit for per-segment channels). */
  units: number;
  cost: number;
  baseCost?: number;
}

export interface TraceEntry {
  /** ISO timestamp, UTC. */
  at: string;
  journey?: string;
  step?: string;
  /** e.g. "entered (event signup)", "sent email welcome", "delivered", "opened", "suppressed sms: no_consent", "goal purchase", "exit". */
  what: string;
}

export interface CustomerTrace {
  customer: string; // masked id
  contact: string; // masked email / phone
  timezone: string;
  entries: TraceEntry[];
}

export interface GuardOutcome {
  metric: string;
  value: number;
  warnAbove?: number;
  errorAbove?: number;
  status: GuardStatus;
}

export interface PlanReport {
  format_version: number;
  project: string;
  currency: string;
  generated: {
    /** Start of the simulated window (ISO) and its length. */
    now: string;
    horizon: string;
    seed: number;
    dataset: string;
    /** Git ref the base was read from; absent when no base was compared. */
    base?: string;
    masked: boolean;
  };
  summary: {
    customers: number;
    eventsInHorizon: number;
    journeys: number;
    messages: number;
    cost: number;
    baseCost?: number;
    baseMessages?: number;
    conversions: number;
    baseConversions?: number;
    changes: { added: number; changed: number; removed: number };
    guards: Record<GuardStatus, number>;
  };
  configDiff: ConfigChange[];
  segments: SegmentOutcome[];
  journeys: JourneyOutcome[];
  channels: ChannelOutcome[];
  traces: CustomerTrace[];
  guards: GuardOutcome[];
  /** CLV fit and calibration chart, when the project uses clv.* (rendered as text and inline SVG). */
  clv?: { svg: string; text: string };
}
