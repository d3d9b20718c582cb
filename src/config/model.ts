// The normalised, immutable Project that every later stage uses. Kept apart from the written YAML
// (schema/ describes that): durations are milliseconds, shares are fractions, names are resolved,
// expressions and templates are compiled.
import type { CompiledExpression } from '../expr/api.js';
import type { DataModel } from '../model/data-model.js';
import type { CompiledTemplateSet } from './template-bridge.js';

export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

export type MessageClass = 'marketing' | 'service' | 'transactional';

export interface ObjectMeta {
  kind: string;
  name: string;
  description?: string;
  labels: Readonly<Record<string, string>>;
  previousNames: readonly string[];
  location: SourceLocation;
  /** Canonical JSON of the written document, for the plan's config diff. */
  fingerprint: string;
}

export interface Guard {
  metric: string;
  warnAbove?: number;
  errorAbove?: number;
}

export interface ProjectSettings {
  meta: ObjectMeta;
  currency: string;
  locale: string;
  timezone: string;
  /** Attribute that holds each customer's IANA time zone. */
  timezoneAttribute: string;
  segmentRefreshMs: number;
  links: { unsubscribe?: string; preferences?: string };
  plan: { dataset?: string; horizonMs: number; seed: number; guards: readonly Guard[] };
}

export interface SegmentDef {
  meta: ObjectMeta;
  where: CompiledExpression;
}

export interface TemplateDef {
  meta: ObjectMeta;
  compiled: CompiledTemplateSet;
  variants: ReadonlySet<ChannelType>;
}

export type ChannelType = 'email' | 'sms' | 'push' | 'webhook';

export type SecretRef = { env: string };
export type StringOrEnv = string | SecretRef;

export interface ProviderSpec {
  kind: 'smtp' | 'http' | 'webpush' | 'webhook' | 'log';
  url?: StringOrEnv;
  token?: SecretRef;
  secret?: SecretRef;
  password?: SecretRef;
  vapidPublicKey?: StringOrEnv;
  vapidPrivateKey?: SecretRef;
  vapidSubject?: string;
  path?: string;
  idempotent: boolean;
  headers: Readonly<Record<string, StringOrEnv>>;
}

export interface ChannelDef {
  meta: ObjectMeta;
  type: ChannelType;
  address: string;
  consent?: string;
  from?: string;
  cost: { per: 'message' | 'segment'; amount: number };
  provider: ProviderSpec;
  rateLimit?: { count: number; perMs: number };
  simulate: { delivered: number; opened: number; clicked: number; latencyMs: number };
  /** A channel that costs money per message; cascades try free ones first. */
  paid: boolean;
}

export type AdvanceIf = 'failed' | 'not_delivered' | 'not_opened' | 'not_clicked' | 'no_goal';
export type StopOn = 'delivered' | 'opened' | 'clicked' | 'goal';

export interface CascadeStep {
  channel: string;
  template: string;
  advanceIf?: AdvanceIf;
  withinMs?: number;
  location: SourceLocation;
}

export interface CascadeDef {
  meta: ObjectMeta;
  stopOn: readonly StopOn[];
  steps: readonly CascadeStep[];
}

export type JourneyEntry =
  | { kind: 'event'; event: string; where?: CompiledExpression }
  | { kind: 'segment'; segment: string }
  | { kind: 'schedule'; cron: string; segment?: string };

export type Reentry = { kind: 'once' } | { kind: 'always' } | { kind: 'after'; ms: number };

export type WaitSpec =
  | { kind: 'duration'; ms: number }
  | { kind: 'until'; hour: number; minute: number }
  | { kind: 'message'; step: string; status: 'delivered' | 'opened' | 'clicked' | 'failed'; timeoutMs: number }
  | { kind: 'event'; event: string; where?: CompiledExpression; timeoutMs: number };

export type StepAction =
  | { kind: 'send'; channel: string; template: string }
  | { kind: 'cascade'; cascade: string }
  | { kind: 'wait'; wait: WaitSpec; onTimeout?: string; onEvent?: string }
  | { kind: 'branch'; branches: readonly { when: CompiledExpression; goto: string }[] }
  | { kind: 'split'; arms: readonly { goto: string; share: number }[] }
  | { kind: 'exit' }
  | { kind: 'noop' };

export interface JourneyStep {
  id: string;
  index: number;
  description?: string;
  if?: CompiledExpression;
  action: StepAction;
  /** Explicit next step; otherwise the following step in order (none after the last). */
  goto?: string;
  maxVisits?: number;
  location: SourceLocation;
}

export interface JourneyDef {
  meta: ObjectMeta;
  entry: JourneyEntry;
  entryLocation: SourceLocation;
  reentry: Reentry;
  goal?: { event: string; withinMs?: number; where?: CompiledExpression };
  holdout: number;
  class: MessageClass;
  policy?: string;
  steps: readonly JourneyStep[];
  stepsById: ReadonlyMap<string, JourneyStep>;
}

export interface FrequencyCap {
  channels: readonly string[];
  max: number;
  perMs: number;
}

export interface PolicyDef {
  meta: ObjectMeta;
  frequency: readonly FrequencyCap[];
  quietHours?: { fromMinute: number; toMinute: number; action: 'defer' | 'skip' };
  budget: readonly { channel: string; max: number; perMs: number }[];
  onCap: 'fall_through' | 'skip' | 'defer';
}

export interface Project {
  root: string;
  settings: ProjectSettings;
  model: DataModel;
  segments: ReadonlyMap<string, SegmentDef>;
  /** Segment names in dependency order (a segment after every segment it references). */
  segmentOrder: readonly string[];
  templates: ReadonlyMap<string, TemplateDef>;
  channels: ReadonlyMap<string, ChannelDef>;
  cascades: ReadonlyMap<string, CascadeDef>;
  journeys: ReadonlyMap<string, JourneyDef>;
  policies: ReadonlyMap<string, PolicyDef>;
  /** The files the project was read from, relative to root, with their content hash. */
  files: readonly { path: string; sha256: string }[];
}
