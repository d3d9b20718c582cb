// Normalise Segment, Channel, Cascade, Policy and Journey documents. References between objects are
// checked in check-references.ts, once all names are known.
import { createHash } from 'node:crypto';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import type { ExprContext, ExprEnvironment } from '../expr/api.js';
import type { DataModel } from '../model/data-model.js';
import { compileExpressionAt } from './compile-expr-at.js';
import { parseDuration, parseShare } from './duration.js';
import { diagAt, findNode, rangeOf, type PathSegment } from './locate.js';
import type {
  CascadeDef,
  ChannelDef,
  JourneyDef,
  JourneyEntry,
  JourneyStep,
  ObjectMeta,
  PolicyDef,
  ProviderSpec,
  Reentry,
  SecretRef,
  SegmentDef,
  SourceLocation,
  StepAction,
  StringOrEnv,
  WaitSpec,
} from './model.js';
import type { KindedDocument } from './read-documents.js';
import { didYouMean } from '../diagnostics/suggest.js';

export interface BuildContext {
  model: DataModel;
  segmentNames: ReadonlySet<string>;
  diagnostics: Diagnostic[];
}

export function locationOf(doc: KindedDocument, path: readonly PathSegment[], prefer: 'key' | 'value' = 'value'): SourceLocation {
  const located = findNode(doc.doc, path);
  const [start] = rangeOf(located, prefer);
  const p = doc.source.position(start);
  return { file: doc.source.file, line: p.line, column: p.column };
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

export function buildMeta(doc: KindedDocument): ObjectMeta {
  const v = doc.value as { kind: string; metadata: { name: string; description?: string; labels?: Record<string, string>; previousNames?: string[] }; spec: unknown };
  const meta: ObjectMeta = {
    kind: v.kind,
    name: v.metadata.name,
    labels: { ...(v.metadata.labels ?? {}) },
    previousNames: [...(v.metadata.previousNames ?? [])],
    location: locationOf(doc, ['metadata', 'name']),
    fingerprint: createHash('sha256').update(canonicalJson({ metadata: { ...v.metadata, previousNames: undefined }, spec: v.spec })).digest('hex'),
  };
  if (v.metadata.description !== undefined) meta.description = v.metadata.description;
  return meta;
}

function report(ctx: BuildContext, doc: KindedDocument, path: PathSegment[], code: string, message: string, hint?: string, prefer: 'key' | 'value' = 'value'): void {
  const [s, e] = rangeOf(findNode(doc.doc, path), prefer);
  ctx.diagnostics.push(diagAt(doc.source, s, e, code, message, { hint, path: '/' + path.join('/') }));
}

function env(ctx: BuildContext, context: ExprContext): ExprEnvironment {
  return { model: ctx.model, context, segments: ctx.segmentNames, expected: 'bool' };
}

export function buildSegment(doc: KindedDocument, ctx: BuildContext): SegmentDef | undefined {
  const where = compileExpressionAt(doc, ['spec', 'where'], env(ctx, { kind: 'profile' }), ctx.diagnostics);
  return where ? { meta: buildMeta(doc), where } : undefined;
}

// ---- Channel ---------------------------------------------------------------------------------------

const SECRET_FIELDS = ['token', 'secret', 'password', 'vapid_private_key'] as const;

export function buildChannel(doc: KindedDocument, ctx: BuildContext): ChannelDef | undefined {
  const spec = (doc.value as { spec: Record<string, any> }).spec;
  const before = ctx.diagnostics.length;
  const attr = ctx.model.attributes;
  const address = attr.get(spec.address);
  if (!address) {
    report(ctx, doc, ['spec', 'address'], 'HER4020', `address attribute '${spec.address}' is not declared in the Project's customer attributes`, hintFor(spec.address, attr.keys()));
  } else if (address.type !== 'string') {
    report(ctx, doc, ['spec', 'address'], 'HER4020', `address attribute '${spec.address}' must be a string, but it is ${address.type}`);
  }
  if (spec.consent !== undefined) {
    const consent = attr.get(spec.consent);
    if (!consent) report(ctx, doc, ['spec', 'consent'], 'HER4020', `consent attribute '${spec.consent}' is not declared in the Project's customer attributes`, hintFor(spec.consent, attr.keys()));
    else if (consent.type !== 'bool') report(ctx, doc, ['spec', 'consent'], 'HER4020', `consent attribute '${spec.consent}' must be a bool, but it is ${consent.type}`);
  }
  const provider = spec.provider as Record<string, unknown>;
  for (const key of SECRET_FIELDS) {
    if (typeof provider[key] === 'string') {
      report(ctx, doc, ['spec', 'provider', key], 'HER4022', `provider.${key} is a secret written inline; secrets are only read from the environment`, `write ${key}: { env: ${spec.type.toUpperCase()}_${key.toUpperCase()} } and set that variable where the engine runs`);
    }
  }
  if (typeof provider.url === 'string' && /^[a-z][a-z0-9+.-]*:\/\/[^/@\s]*:[^/@\s]*@/i.test(provider.url)) {
    report(ctx, doc, ['spec', 'provider', 'url'], 'HER4022', 'provider.url carries a password inline; secrets are only read from the environment', `write url: { env: ${spec.type.toUpperCase()}_URL }`);
  }
  for (const [name, value] of Object.entries((provider.headers as Record<string, unknown>) ?? {})) {
    if (typeof value === 'string' && /^(authorization|x-api-key|api-key|x-auth-token)$/i.test(name)) {
      report(ctx, doc, ['spec', 'provider', 'headers', name], 'HER4022', `header '${name}' is a secret written inline`, `write ${name}: { env: NAME }`);
    }
  }
  if (ctx.diagnostics.length > before) return undefined;
  const rate = typeof spec.rate_limit === 'string' ? /^(\d+)\/(s|m|h)$/.exec(spec.rate_limit) : null;
  const sim = spec.simulate ?? {};
  const cost = { per: (spec.cost?.per ?? 'message') as 'message' | 'segment', amount: spec.cost?.amount ?? 0 };
  const providerSpec: ProviderSpec = {
    kind: provider.kind as ProviderSpec['kind'],
    url: provider.url as StringOrEnv | undefined,
    token: provider.token as SecretRef | undefined,
    secret: provider.secret as SecretRef | undefined,
    password: provider.password as SecretRef | undefined,
    vapidPublicKey: provider.vapid_public_key as StringOrEnv | undefined,
    vapidPrivateKey: provider.vapid_private_key as SecretRef | undefined,
    vapidSubject: provider.vapid_subject as string | undefined,
    path: provider.path as string | undefined,
    idempotent: Boolean(provider.idempotent),
    headers: { ...((provider.headers as Record<string, StringOrEnv>) ?? {}) },
  };
  return {
    meta: buildMeta(doc),
    type: spec.type,
    address: spec.address,
    consent: spec.consent,
    from: spec.from,
    cost,
    provider: providerSpec,
    rateLimit: rate ? { count: Number(rate[1]), perMs: { s: 1000, m: 60_000, h: 3_600_000 }[rate[2] as 's' | 'm' | 'h'] } : undefined,
    simulate: {
      delivered: sim.delivered ?? 1,
      opened: sim.opened ?? 0,
      clicked: sim.clicked ?? 0,
      latencyMs: sim.latency ? parseDuration(sim.latency)! : 0,
    },
    paid: cost.amount > 0,
  };
}

const hintFor = didYouMean;

// ---- Cascade ---------------------------------------------------------------------------------------

export function buildCascade(doc: KindedDocument, ctx: BuildContext): CascadeDef | undefined {
  const spec = (doc.value as { spec: { stop_on?: string[]; steps: { channel: string; template: string; advance_if?: string; within?: string }[] } }).spec;
  const steps = spec.steps.map((s, i) => ({
    channel: s.channel,
    template: s.template,
    advanceIf: s.advance_if as CascadeDef['steps'][number]['advanceIf'],
    withinMs: s.within ? parseDuration(s.within) : undefined,
    location: locationOf(doc, ['spec', 'steps', i]),
  }));
  steps.forEach((s, i) => {
    if (i < steps.length - 1 && s.advanceIf === undefined) {
      // Without a condition the next channel would never be tried: say so instead of guessing.
      report(ctx, doc, ['spec', 'steps', i], 'HER4025', `cascade step ${i + 1} (${s.channel}) has no advance_if, so the steps after it are never reached`, 'add advance_if: not_delivered (or failed / not_opened / not_clicked / no_goal) with within: <duration>', 'key');
    }
    if (s.advanceIf && s.advanceIf !== 'failed' && s.withinMs === undefined) {
      report(ctx, doc, ['spec', 'steps', i, 'advance_if'], 'HER4011', `advance_if: ${s.advanceIf} needs 'within: <duration>' to know how long to wait`, 'for example within: 24h');
    }
  });
  return { meta: buildMeta(doc), stopOn: (spec.stop_on ?? ['delivered', 'goal']) as CascadeDef['stopOn'], steps };
}

// ---- Policy ----------------------------------------------------------------------------------------

function minuteOfDay(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h * 60 + m;
}

export function buildPolicy(doc: KindedDocument): PolicyDef {
  const spec = (doc.value as { spec: Record<string, any> }).spec;
  const policy: PolicyDef = {
    meta: buildMeta(doc),
    frequency: (spec.frequency ?? []).map((f: { channels: string[]; max: number; per: string }) => ({ channels: [...f.channels], max: f.max, perMs: parseDuration(f.per)! })),
    budget: (spec.budget ?? []).map((b: { channel: string; max: number; per: string }) => ({ channel: b.channel, max: b.max, perMs: parseDuration(b.per)! })),
    onCap: spec.on_cap ?? 'fall_through',
  };
  if (spec.quiet_hours) {
    policy.quietHours = { fromMinute: minuteOfDay(spec.quiet_hours.from), toMinute: minuteOfDay(spec.quiet_hours.to), action: spec.quiet_hours.action ?? 'defer' };
  }
  return policy;
}

// ---- Journey ---------------------------------------------------------------------------------------

const ACTION_KEYS = ['send', 'cascade', 'wait', 'branch', 'split', 'exit'] as const;

export function buildJourney(doc: KindedDocument, ctx: BuildContext): JourneyDef | undefined {
  const spec = (doc.value as { spec: Record<string, any> }).spec;
  const before = ctx.diagnostics.length;
  const events = ctx.model.events;

  // Entry
  const e = spec.entry as { event?: string; where?: string; segment?: string; schedule?: string };
  let entry: JourneyEntry | undefined;
  if (e.event !== undefined) {
    if (e.segment !== undefined || e.schedule !== undefined) {
      report(ctx, doc, ['spec', 'entry'], 'HER4015', 'entry takes either an event (with optional where), or a segment (with optional schedule), not both', undefined, 'key');
    } else if (!events.has(e.event)) {
      report(ctx, doc, ['spec', 'entry', 'event'], 'HER4002', `unknown event type '${e.event}'`, hintFor(e.event, events.keys()) ?? 'declare it under spec.events in the Project file');
    } else {
      const where = e.where === undefined ? undefined : compileExpressionAt(doc, ['spec', 'entry', 'where'], env(ctx, { kind: 'event-where', event: e.event }), ctx.diagnostics);
      entry = { kind: 'event', event: e.event, where };
    }
  } else if (e.where !== undefined) {
    report(ctx, doc, ['spec', 'entry', 'where'], 'HER4015', "entry 'where' filters events; use it with 'event', or put the condition in a Segment", undefined, 'key');
  } else if (e.schedule !== undefined) {
    if (!isCron(e.schedule)) {
      report(ctx, doc, ['spec', 'entry', 'schedule'], 'HER4019', `'${e.schedule}' is not a 5-field cron expression`, 'for example "0 10 * * MON" (10:00 every Monday)');
    } else {
      entry = { kind: 'schedule', cron: e.schedule, segment: e.segment };
    }
  } else if (e.segment !== undefined) {
    entry = { kind: 'segment', segment: e.segment };
  }
  const context: ExprContext = entry?.kind === 'event' ? { kind: 'journey-event', event: entry.event } : { kind: 'profile' };

  // Reentry, goal, holdout
  const r = spec.reentry ?? 'once';
  const reentry: Reentry = typeof r === 'string' ? { kind: r as 'once' | 'always' } : { kind: 'after', ms: parseDuration(r.after)! };
  let goal: JourneyDef['goal'];
  if (spec.goal) {
    if (!events.has(spec.goal.event)) {
      report(ctx, doc, ['spec', 'goal', 'event'], 'HER4002', `unknown event type '${spec.goal.event}'`, hintFor(spec.goal.event, events.keys()));
    } else {
      goal = { event: spec.goal.event, withinMs: spec.goal.within ? parseDuration(spec.goal.within) : undefined };
      if (spec.goal.where !== undefined) {
        goal.where = compileExpressionAt(doc, ['spec', 'goal', 'where'], env(ctx, { kind: 'event-where', event: spec.goal.event }), ctx.diagnostics);
      }
    }
  }
  const holdout = spec.holdout === undefined ? 0 : parseShare(spec.holdout);
  if (holdout >= 1) report(ctx, doc, ['spec', 'holdout'], 'HER1023', 'holdout must be below 100%');

  // Steps
  const written = spec.steps as Record<string, any>[];
  const steps: JourneyStep[] = [];
  const byId = new Map<string, JourneyStep>();
  written.forEach((w, index) => {
    const path = ['spec', 'steps', index];
    if (byId.has(w.id)) {
      report(ctx, doc, [...path, 'id'], 'HER4013', `step id '${w.id}' is used twice in this journey`);
      return;
    }
    const present = ACTION_KEYS.filter((k) => w[k] !== undefined);
    if (present.length !== 1) {
      report(ctx, doc, path, 'HER4014', present.length === 0 ? `step '${w.id}' has no action` : `step '${w.id}' has several actions (${present.join(', ')})`, `a step has exactly one of ${ACTION_KEYS.join(', ')}`, 'key');
      return;
    }
    const action = buildAction(doc, ctx, w, path, context, present[0]);
    if (!action) return;
    const step: JourneyStep = { id: w.id, index: steps.length, action, location: locationOf(doc, [...path, 'id']) };
    if (w.description !== undefined) step.description = w.description;
    if (w.goto !== undefined) step.goto = w.goto;
    if (w.max_visits !== undefined) step.maxVisits = w.max_visits;
    if (w.if !== undefined) {
      const cond = compileExpressionAt(doc, [...path, 'if'], env(ctx, context), ctx.diagnostics);
      if (cond) step.if = cond;
    }
    if ((w.on_timeout !== undefined || w.on_event !== undefined) && action.kind !== 'wait') {
      report(ctx, doc, [...path, w.on_timeout !== undefined ? 'on_timeout' : 'on_event'], 'HER4018', `step '${w.id}' does not wait, so on_timeout / on_event never apply`, undefined, 'key');
    }
    steps.push(step);
    byId.set(step.id, step);
  });
  if (ctx.diagnostics.length > before || !entry) return undefined;
  return { meta: buildMeta(doc), entry, entryLocation: locationOf(doc, ['spec', 'entry', e.segment !== undefined ? 'segment' : 'event']), reentry, goal, holdout, class: spec.class ?? 'marketing', policy: spec.policy, steps, stepsById: byId };
}

function buildAction(doc: KindedDocument, ctx: BuildContext, w: Record<string, any>, path: PathSegment[], context: ExprContext, kind: (typeof ACTION_KEYS)[number]): StepAction | undefined {
  switch (kind) {
    case 'send':
      return { kind: 'send', channel: w.send.channel, template: w.send.template };
    case 'cascade':
      return { kind: 'cascade', cascade: w.cascade };
    case 'exit':
      return { kind: 'exit' };
    case 'branch': {
      const branches = [];
      for (let i = 0; i < w.branch.length; i++) {
        const when = compileExpressionAt(doc, [...path, 'branch', i, 'when'], env(ctx, context), ctx.diagnostics);
        if (!when) return undefined;
        branches.push({ when, goto: w.branch[i].goto as string });
      }
      return { kind: 'branch', branches };
    }
    case 'split': {
      const arms = Object.entries(w.split as Record<string, string | number>).map(([goto, share]) => ({ goto, share: parseShare(share) }));
      const total = arms.reduce((a, b) => a + b.share, 0);
      if (Math.abs(total - 1) > 1e-9) {
        report(ctx, doc, [...path, 'split'], 'HER4016', `split shares add up to ${Math.round(total * 1000) / 10}%, not 100%`, undefined, 'key');
        return undefined;
      }
      return { kind: 'split', arms };
    }
    case 'wait': {
      const wait = buildWait(doc, ctx, w, path);
      if (!wait) return undefined;
      const action: StepAction = { kind: 'wait', wait };
      if (w.on_timeout !== undefined) action.onTimeout = w.on_timeout;
      if (w.on_event !== undefined) action.onEvent = w.on_event;
      return action;
    }
  }
}

function buildWait(doc: KindedDocument, ctx: BuildContext, w: Record<string, any>, path: PathSegment[]): WaitSpec | undefined {
  const wait = w.wait;
  if (typeof wait === 'string') return { kind: 'duration', ms: parseDuration(wait)! };
  const keys = ['until', 'for'].filter((k) => wait[k] !== undefined);
  if (keys.length !== 1) {
    report(ctx, doc, [...path, 'wait'], 'HER4014', 'wait takes a duration, or exactly one of until / for', 'e.g. wait: 3d, wait: { until: "10:00" }, wait: { for: { message: hello, status: opened }, timeout: 2d }', 'key');
    return undefined;
  }
  if (wait.until !== undefined) {
    const [h, m] = String(wait.until).split(':').map(Number);
    return { kind: 'until', hour: h, minute: m };
  }
  const f = wait.for as { message?: string; status?: string; event?: string; where?: string };
  if (wait.timeout === undefined) {
    report(ctx, doc, [...path, 'wait'], 'HER4011', `step '${w.id}' waits for ${f.message ? `message '${f.message}'` : `event '${f.event}'`} with no timeout, so a customer could wait forever`, 'add timeout: <duration> (and on_timeout: <step> to choose where to go then)', 'key');
    return undefined;
  }
  const timeoutMs = parseDuration(wait.timeout)!;
  if ((f.message === undefined) === (f.event === undefined)) {
    report(ctx, doc, [...path, 'wait', 'for'], 'HER4014', 'wait.for takes either message (with status) or event (with optional where)', undefined, 'key');
    return undefined;
  }
  if (f.message !== undefined) {
    return { kind: 'message', step: f.message, status: (f.status ?? 'delivered') as 'delivered' | 'opened' | 'clicked' | 'failed', timeoutMs };
  }
  const event = f.event!;
  if (!ctx.model.events.has(event)) {
    report(ctx, doc, [...path, 'wait', 'for', 'event'], 'HER4002', `unknown event type '${event}'`, hintFor(event, ctx.model.events.keys()));
    return undefined;
  }
  const spec: WaitSpec = { kind: 'event', event, timeoutMs };
  if (f.where !== undefined) {
    const where = compileExpressionAt(doc, [...path, 'wait', 'for', 'where'], env(ctx, { kind: 'event-where', event }), ctx.diagnostics);
    if (!where) return undefined;
    spec.where = where;
  }
  return spec;
}

const CRON_FIELD = /^(\*|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(\/[0-9]+)?(,(\*|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(\/[0-9]+)?)*$/;

export function isCron(text: string): boolean {
  const fields = text.trim().split(/\s+/);
  return fields.length === 5 && fields.every((f) => CRON_FIELD.test(f));
}
