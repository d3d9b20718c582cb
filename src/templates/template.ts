// A Template (DESIGN §4.4): one variant per channel, every text compiled and checked at load, rendered
// deterministically from a RenderContext.
//
// Texts come in with an opaque `origin` chosen by the caller (file and offset, YAML node, …); diagnostics go
// back with the variant key, the origin and spans into that text, so the config loader maps them to files.
// Escaping: only email html is HTML-escaped; subject, text, push, SMS and webhook values are printed as they
// are. A webhook body is a JSON tree whose string leaves are templates: values land inside JSON strings, so
// no value can change the body's structure.
import type { SpanDiagnostic } from '../diagnostics/diagnostic.js';
import type { DataModel } from '../model/data-model.js';
import { checkSmsText } from './check-sms.js';
import { checkTemplate, type DerivedName, type TemplateUsage } from './check-variables.js';
import { TEMPLATE_CODE } from './codes.js';
import { compileAst, parseTemplate, type CompiledHandlebars, type EscapeMode, type RuntimeHelpers } from './compile-template.js';
import { createRuntimeHelpers } from './helpers.js';
import { countSmsSegments, type SmsEncoding } from './sms-segments.js';
import { buildRootData, type RenderContext } from './template-data.js';

export type ChannelType = 'email' | 'push' | 'sms' | 'webhook';

export interface TemplateText<O = unknown> {
  text: string;
  origin?: O;
}

/** A text, bare or with the caller's origin. */
export type TemplateSource<O = unknown> = string | TemplateText<O>;

/** A webhook body: JSON whose strings are templates. */
export type JsonTemplate = string | number | boolean | null | readonly JsonTemplate[] | { readonly [key: string]: JsonTemplate };
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** The normalised `spec` of a Template document, with file texts already read by the caller. */
export interface TemplateSetInput<O = unknown> {
  email?: { subject: TemplateSource<O>; html?: TemplateSource<O>; text?: TemplateSource<O> };
  push?: { title: TemplateSource<O>; body: TemplateSource<O>; url?: TemplateSource<O> };
  sms?: TemplateSource<O>;
  webhook?: { body: JsonTemplate; origin?: O };
}

export interface CompileTemplateSetOptions {
  /** The event type that triggers sends of this template (a journey entered by an event); enables event.*. */
  eventType?: string;
  /** Warn when an SMS's fixed text alone needs more segments than this (default 1). */
  smsMaxSegments?: number;
}

export interface TemplateDiagnostic<O = unknown> {
  /** 'email.subject', 'email.html', 'email.text', 'push.title', 'push.body', 'push.url', 'sms', 'webhook.body/<json pointer>'. */
  variant: string;
  origin?: O;
  /** Span is an offset range into that variant's text. */
  diagnostic: SpanDiagnostic;
}

export interface CompiledText extends CompiledHandlebars {
  variant: string;
  usage: TemplateUsage;
}

export interface CompiledEmail {
  subject: CompiledText;
  html?: CompiledText;
  text?: CompiledText;
}

export interface CompiledPush {
  title: CompiledText;
  body: CompiledText;
  url?: CompiledText;
}

export type CompiledJson =
  | { kind: 'text'; text: CompiledText }
  | { kind: 'literal'; value: number | boolean | null }
  | { kind: 'array'; items: CompiledJson[] }
  | { kind: 'object'; entries: [string, CompiledJson][] };

export interface CompiledTemplateSet {
  readonly model: DataModel;
  readonly eventType?: string;
  readonly email?: CompiledEmail;
  readonly push?: CompiledPush;
  readonly sms?: CompiledText;
  readonly webhook?: { body: CompiledJson };
  /** What all variants read together. */
  readonly usage: TemplateUsage;
}

export interface CompileTemplateSetResult<O = unknown> {
  /** Absent when any text has an error. */
  templateSet?: CompiledTemplateSet;
  diagnostics: TemplateDiagnostic<O>[];
}

export interface RenderedEmail {
  channel: 'email';
  /** Line breaks folded to spaces: a subject is one header line. */
  subject: string;
  html?: string;
  text?: string;
}

export interface RenderedPush {
  channel: 'push';
  title: string;
  body: string;
  url?: string;
}

export interface RenderedSms {
  channel: 'sms';
  text: string;
  encoding: SmsEncoding;
  units: number;
  segments: number;
}

export interface RenderedWebhook {
  channel: 'webhook';
  body: JsonValue;
}

export interface RenderedByChannel {
  email: RenderedEmail;
  push: RenderedPush;
  sms: RenderedSms;
  webhook: RenderedWebhook;
}

export type RenderedMessage = RenderedByChannel[ChannelType];

/** Rendering broke: the host's context broke its contract (a callback threw, a value of the wrong shape). */
export class TemplateRenderError extends Error {
  readonly code = TEMPLATE_CODE.renderFailed;

  constructor(
    readonly variant: string,
    cause: unknown,
  ) {
    super(`${TEMPLATE_CODE.renderFailed} rendering ${variant} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'TemplateRenderError';
  }
}

// ---- compile -------------------------------------------------------------------------------------------------

export function compileTemplateSet<O = unknown>(
  input: TemplateSetInput<O>,
  model: DataModel,
  options: CompileTemplateSetOptions = {},
): CompileTemplateSetResult<O> {
  const diagnostics: TemplateDiagnostic<O>[] = [];
  let failed = false;

  const compileText = (variant: string, source: string, origin: O | undefined, escape: EscapeMode, sms = false): CompiledText | undefined => {
    const push = (d: SpanDiagnostic) => {
      if (d.severity === 'error') failed = true;
      diagnostics.push({ variant, ...(origin !== undefined ? { origin } : {}), diagnostic: d });
    };
    const parsed = parseTemplate(source);
    parsed.diagnostics.forEach(push);
    if (!parsed.ast) return undefined;
    const checked = checkTemplate(parsed.ast, source, model, { eventType: options.eventType, escape });
    checked.diagnostics.forEach(push);
    if (sms) checkSmsText(parsed.ast, source, { maxSegments: options.smsMaxSegments }).forEach(push);
    if (checked.diagnostics.some((d) => d.severity === 'error')) return undefined;
    const compiled = compileAst(parsed.ast, source, escape);
    compiled.diagnostics.forEach(push);
    return compiled.template ? { ...compiled.template, variant, usage: checked.usage } : undefined;
  };
  const text = (variant: string, t: TemplateSource<O>, escape: EscapeMode, sms = false) =>
    typeof t === 'string' ? compileText(variant, t, undefined, escape, sms) : compileText(variant, t.text, t.origin, escape, sms);

  let email: CompiledEmail | undefined;
  if (input.email) {
    const e = input.email;
    const subject = text('email.subject', e.subject, 'none');
    const html = e.html ? text('email.html', e.html, 'html') : undefined;
    const plain = e.text ? text('email.text', e.text, 'none') : undefined;
    if (!e.html && !e.text) {
      failed = true;
      diagnostics.push({
        variant: 'email',
        ...(typeof e.subject !== 'string' && e.subject.origin !== undefined ? { origin: e.subject.origin } : {}),
        diagnostic: {
          code: TEMPLATE_CODE.missingBody,
          severity: 'error',
          message: 'the email variant has neither an html nor a text body',
          span: { start: 0, end: 0 },
          hint: 'add `html:` or `text:` (or both)',
        },
      });
    }
    if (subject) email = { subject, ...(html ? { html } : {}), ...(plain ? { text: plain } : {}) };
  }

  let push: CompiledPush | undefined;
  if (input.push) {
    const p = input.push;
    const title = text('push.title', p.title, 'none');
    const body = text('push.body', p.body, 'none');
    const url = p.url ? text('push.url', p.url, 'none') : undefined;
    if (title && body) push = { title, body, ...(url ? { url } : {}) };
  }

  const sms = input.sms ? text('sms', input.sms, 'none', true) : undefined;

  let webhook: { body: CompiledJson } | undefined;
  if (input.webhook) {
    const origin = input.webhook.origin;
    const compileJson = (value: JsonTemplate, pointer: string): CompiledJson | undefined => {
      if (typeof value === 'string') {
        const t = compileText(`webhook.body${pointer}`, value, origin, 'none');
        return t ? { kind: 'text', text: t } : undefined;
      }
      if (value === null || typeof value === 'number' || typeof value === 'boolean') return { kind: 'literal', value };
      if (Array.isArray(value)) {
        const items = (value as readonly JsonTemplate[]).map((v, i) => compileJson(v, `${pointer}/${i}`));
        return items.every((x): x is CompiledJson => x !== undefined) ? { kind: 'array', items } : undefined;
      }
      const entries = Object.entries(value as Record<string, JsonTemplate>).map(
        ([k, v]) => [k, compileJson(v, `${pointer}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`)] as const,
      );
      return entries.every((e): e is readonly [string, CompiledJson] => e[1] !== undefined)
        ? { kind: 'object', entries: entries.map(([k, v]) => [k, v]) }
        : undefined;
    };
    const body = compileJson(input.webhook.body, '');
    if (body) webhook = { body };
  }

  if (failed) return { diagnostics };
  const texts: CompiledText[] = [
    ...(email ? [email.subject, email.html, email.text] : []),
    ...(push ? [push.title, push.body, push.url] : []),
    ...(sms ? [sms] : []),
    ...(webhook ? jsonTexts(webhook.body) : []),
  ].filter((t): t is CompiledText => t !== undefined);
  const templateSet: CompiledTemplateSet = {
    model,
    ...(options.eventType !== undefined ? { eventType: options.eventType } : {}),
    ...(email ? { email } : {}),
    ...(push ? { push } : {}),
    ...(sms ? { sms } : {}),
    ...(webhook ? { webhook } : {}),
    usage: mergeUsage(texts.map((t) => t.usage)),
  };
  return { templateSet, diagnostics };
}

function jsonTexts(node: CompiledJson): CompiledText[] {
  switch (node.kind) {
    case 'text':
      return [node.text];
    case 'literal':
      return [];
    case 'array':
      return node.items.flatMap(jsonTexts);
    case 'object':
      return node.entries.flatMap(([, v]) => jsonTexts(v));
  }
}

export function mergeUsage(usages: readonly TemplateUsage[]): TemplateUsage {
  const recent = new Map<string, number>();
  for (const u of usages) for (const r of u.recent) recent.set(r.event, Math.max(r.n, recent.get(r.event) ?? 0));
  const union = <T extends string>(pick: (u: TemplateUsage) => readonly T[]): T[] => [...new Set(usages.flatMap(pick))].sort();
  return {
    attributes: union((u) => u.attributes),
    eventProps: union((u) => u.eventProps),
    derived: union<DerivedName>((u) => u.derived),
    recent: [...recent].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([event, n]) => ({ event, n })),
    unsubscribeUrl: usages.some((u) => u.unsubscribeUrl),
    preferencesUrl: usages.some((u) => u.preferencesUrl),
  };
}

// ---- render --------------------------------------------------------------------------------------------------

export function hasChannel(set: CompiledTemplateSet, channel: ChannelType): boolean {
  return set[channel] !== undefined;
}

/**
 * Render one channel's variant for one customer. Pure: the same set, channel and context give the same bytes.
 * Throws TemplateRenderError only when the context breaks its contract, and a plain Error when the template has
 * no variant for the channel (the config layer rejects that at load).
 */
export function renderMessage<C extends ChannelType>(set: CompiledTemplateSet, channel: C, ctx: RenderContext): RenderedByChannel[C] {
  const data = buildRootData(set.model, set.eventType, ctx);
  const helpers = createRuntimeHelpers({ ctx, model: set.model, plainSpaces: channel === 'sms' });
  const run = (t: CompiledText): string => renderText(t, data, helpers);
  const missing = (): never => {
    throw new Error(`template has no ${channel} variant`);
  };
  let message: RenderedMessage;
  switch (channel) {
    case 'email': {
      const e = set.email ?? missing();
      message = {
        channel: 'email',
        subject: oneLine(run(e.subject)),
        ...(e.html ? { html: run(e.html) } : {}),
        ...(e.text ? { text: run(e.text) } : {}),
      };
      break;
    }
    case 'push': {
      const p = set.push ?? missing();
      message = { channel: 'push', title: oneLine(run(p.title)), body: run(p.body), ...(p.url ? { url: run(p.url).trim() } : {}) };
      break;
    }
    case 'sms': {
      const t = set.sms ?? missing();
      const text = run(t);
      message = { channel: 'sms', text, ...countSmsSegments(text) };
      break;
    }
    case 'webhook': {
      const w = set.webhook ?? missing();
      message = { channel: 'webhook', body: renderJson(w.body, run) };
      break;
    }
    default:
      throw new Error(`unknown channel type: ${String(channel)}`);
  }
  return message as RenderedByChannel[C];
}

function renderText(t: CompiledText, data: unknown, helpers: RuntimeHelpers): string {
  try {
    return t.render(data, helpers);
  } catch (e) {
    throw new TemplateRenderError(t.variant, e);
  }
}

function renderJson(node: CompiledJson, run: (t: CompiledText) => string): JsonValue {
  switch (node.kind) {
    case 'text':
      return run(node.text);
    case 'literal':
      return node.value;
    case 'array':
      return node.items.map((i) => renderJson(i, run));
    case 'object':
      return Object.fromEntries(node.entries.map(([k, v]) => [k, renderJson(v, run)]));
  }
}

function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}
