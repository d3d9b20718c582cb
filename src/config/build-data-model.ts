// The Project document → settings and the DataModel that types expressions, templates and datasets.
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import type { DataModel, EventDef, FieldDef, FieldType, PiiKind } from '../model/data-model.js';
import { parseDuration } from './duration.js';
import { diagAt, findNode, rangeOf, type PathSegment } from './locate.js';
import type { Guard, ObjectMeta, ProjectSettings } from './model.js';
import type { KindedDocument } from './read-documents.js';
import { didYouMean } from '../diagnostics/suggest.js';

type WrittenField = FieldType | { type: FieldType; pii?: PiiKind };

interface WrittenProject {
  currency?: string;
  locale?: string;
  timezone?: string;
  segment_refresh?: string;
  customer: { id: string; timezone?: string; attributes: Record<string, WrittenField> };
  events?: Record<string, Record<string, WrittenField>>;
  rfm?: { window?: string; monetary: string };
  clv?: { unit?: 'day' | 'week' | 'month'; transaction?: string };
  links?: { unsubscribe?: string; preferences?: string };
  plan?: { dataset?: string; horizon?: string; seed?: number; guards?: { metric: string; warn_above?: number; error_above?: number }[] };
}

const UNIT_MS = { day: 86_400_000, week: 604_800_000, month: 2_629_746_000 } as const;

export function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function field(name: string, written: WrittenField): FieldDef {
  if (typeof written === 'string') return { name, type: written };
  return written.pii ? { name, type: written.type, pii: written.pii } : { name, type: written.type };
}

export function buildDataModel(
  doc: KindedDocument,
  meta: ObjectMeta,
  diagnostics: Diagnostic[],
): { model: DataModel; settings: ProjectSettings } {
  const spec = (doc.value as { spec: WrittenProject }).spec;
  const at = (path: PathSegment[], code: string, message: string, hint?: string) => {
    const [s, e] = rangeOf(findNode(doc.doc, ['spec', ...path]));
    diagnostics.push(diagAt(doc.source, s, e, code, message, { hint }));
  };
  const attributes = new Map<string, FieldDef>();
  for (const [name, written] of Object.entries(spec.customer.attributes)) attributes.set(name, field(name, written));
  const events = new Map<string, EventDef>();
  for (const [name, props] of Object.entries(spec.events ?? {})) {
    events.set(name, { name, props: new Map(Object.entries(props ?? {}).map(([p, w]) => [p, field(p, w)])) });
  }
  const model: DataModel = { customerId: spec.customer.id, attributes, events };

  const eventProp = (path: PathSegment[], ref: string, wantNumber: boolean): { event: string; prop: string } | undefined => {
    const [event, prop] = ref.split('.');
    const def = events.get(event);
    if (!def) {
      at(path, 'HER4004', `'${ref}' names an event type '${event}' that is not declared under spec.events`, didYouMean(event, events.keys()));
      return undefined;
    }
    const p = def.props.get(prop);
    if (!p) {
      at(path, 'HER4004', `event '${event}' has no prop '${prop}'`, didYouMean(prop, def.props.keys()));
      return undefined;
    }
    if (wantNumber && p.type !== 'number') {
      at(path, 'HER4004', `'${ref}' must be a number prop to carry money, but it is ${p.type}`);
      return undefined;
    }
    return { event, prop };
  };

  if (spec.rfm) {
    const monetary = eventProp(['rfm', 'monetary'], spec.rfm.monetary, true);
    const windowMs = parseDuration(spec.rfm.window ?? '365d')!;
    if (monetary) model.rfm = { windowMs, monetary };
  }
  const clvTransaction = spec.clv?.transaction ?? spec.rfm?.monetary;
  if (clvTransaction) {
    const transaction = spec.clv?.transaction ? eventProp(['clv', 'transaction'], clvTransaction, true) : model.rfm?.monetary;
    if (transaction) model.clv = { unitMs: UNIT_MS[spec.clv?.unit ?? 'week'], transaction };
  }

  const timezone = spec.timezone ?? 'UTC';
  if (!isValidTimeZone(timezone)) at(['timezone'], 'HER4024', `'${timezone}' is not an IANA time zone`, 'for example Europe/Berlin or America/New_York');
  const timezoneAttribute = spec.customer.timezone ?? 'timezone';
  const tzAttr = attributes.get(timezoneAttribute);
  if (spec.customer.timezone && (!tzAttr || tzAttr.type !== 'string')) {
    at(['customer', 'timezone'], 'HER4004', `customer time zone attribute '${timezoneAttribute}' must be a declared string attribute`, didYouMean(timezoneAttribute, attributes.keys()));
  }
  if (attributes.has(spec.customer.id)) {
    at(['customer', 'id'], 'HER4004', `'${spec.customer.id}' is the customer id column; do not declare it again as an attribute`);
  }
  const guards: Guard[] = (spec.plan?.guards ?? []).map((g) => {
    const guard: Guard = { metric: g.metric };
    if (g.warn_above !== undefined) guard.warnAbove = g.warn_above;
    if (g.error_above !== undefined) guard.errorAbove = g.error_above;
    return guard;
  });
  const settings: ProjectSettings = {
    meta,
    currency: spec.currency ?? 'EUR',
    locale: spec.locale ?? 'en-GB',
    timezone,
    timezoneAttribute,
    segmentRefreshMs: parseDuration(spec.segment_refresh ?? '1h')!,
    links: { ...spec.links },
    plan: {
      dataset: spec.plan?.dataset,
      horizonMs: parseDuration(spec.plan?.horizon ?? '30d')!,
      seed: spec.plan?.seed ?? 0,
      guards,
    },
  };
  return { model, settings };
}
