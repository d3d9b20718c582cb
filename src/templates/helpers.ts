// The one registry of template helpers: what the checker needs (parameters, hash keys, result type) and the
// implementation, side by side. Implementations are created per render from the render context and passed to
// Handlebars as runtime helpers, so nothing is ever registered on a Handlebars environment, private or global.
//
// Helpers are total: a null or ill-typed value renders as '' (or the fallback), never throws, so a checked
// template cannot fail on one customer's odd data.
import { DateTime } from 'luxon';
import type { SpanDiagnostic, Span } from '../diagnostics/diagnostic.js';
import type { DataModel } from '../model/data-model.js';
import { TEMPLATE_CODE } from './codes.js';
import { didYouMean } from './suggest-name.js';
import { buildRecentItems, recentItemType, scalar, type RenderContext, type ValueType } from './template-data.js';

/** What a parameter accepts: number; time = timestamp, epoch ms or ISO string; text = any scalar; any. */
export type ParamKind = 'number' | 'time' | 'text' | 'any';

export interface HelperParam {
  name: string;
  kind: ParamKind;
  optional?: boolean;
}

/** An argument as the checker saw it. */
export interface CheckedArg {
  span: Span;
  /** Undefined when the argument itself was in error (already reported). */
  type: ValueType | undefined;
  /** Present for string / number / boolean / null literals. */
  literal?: { value: string | number | boolean | null };
}

export interface HelperCheckEnv {
  model: DataModel;
  report(d: SpanDiagnostic): void;
}

export interface HelperRuntime {
  ctx: RenderContext;
  model: DataModel;
  /**
   * Replace no-break spaces (U+00A0, U+202F) that Intl puts in money and times with plain spaces. Set for SMS:
   * those characters are outside GSM-7 and would turn the message into UCS-2 (70 instead of 160 per segment).
   */
  plainSpaces: boolean;
}

export type HelperImpl = (args: readonly unknown[], hash: Readonly<Record<string, unknown>>) => unknown;

export interface HelperSpec {
  name: string;
  summary: string;
  params: readonly HelperParam[];
  /** Named arguments (`locale="de-DE"`) and what they accept. */
  hash?: Readonly<Record<string, ParamKind>>;
  /** The call's type for the checker (a printable scalar unless `check` says otherwise). */
  result: ValueType;
  /** Extra checks needing literals or the data model; returns the result type when it depends on them. */
  check?(args: readonly CheckedArg[], env: HelperCheckEnv): ValueType | undefined;
  create(rt: HelperRuntime): HelperImpl;
}

/** The most events `recent` may ask for: it bounds what the host has to fetch per message. */
export const RECENT_MAX = 50;
const DEFAULT_LOCALE = 'en-US';

const numberFormats = new Map<string, Intl.NumberFormat>();

export function formatMoney(amount: unknown, currency: string, locale: string): string {
  const n = typeof amount === 'number' ? amount : typeof amount === 'string' && amount.trim() !== '' ? Number(amount) : NaN;
  if (!Number.isFinite(n)) return '';
  const key = `${locale}\u0000${currency}`;
  let fmt = numberFormats.get(key);
  if (!fmt) {
    fmt = new Intl.NumberFormat(locale, { style: 'currency', currency });
    numberFormats.set(key, fmt);
  }
  return fmt.format(n);
}

/** Luxon DateTime from epoch ms, an ISO string or a Date, in `zone` (UTC when the zone is not valid). */
export function toDateTime(value: unknown, zone: string): DateTime | undefined {
  let dt: DateTime;
  if (typeof value === 'number' && Number.isFinite(value)) dt = DateTime.fromMillis(value, { zone });
  else if (typeof value === 'string' && value.trim() !== '') dt = DateTime.fromISO(value, { zone, setZone: false });
  else if (value instanceof Date) dt = DateTime.fromJSDate(value, { zone });
  else return undefined;
  if (!dt.isValid && dt.invalidReason === 'unsupported zone') return toDateTime(value, 'UTC');
  return dt.isValid ? dt : undefined;
}

export function formatDate(value: unknown, format: unknown, zone: string, locale: string): string {
  const dt = toDateTime(value, zone)?.setLocale(locale);
  if (!dt) return '';
  return typeof format === 'string' && format !== '' ? dt.toFormat(format) : dt.toLocaleString(DateTime.DATE_MED);
}

function text(value: unknown): string {
  if (value === null || value === undefined) return '';
  return String(value);
}

function localeOf(rt: HelperRuntime, hash: Readonly<Record<string, unknown>>): string {
  return typeof hash.locale === 'string' && hash.locale !== '' ? hash.locale : (rt.ctx.locale ?? DEFAULT_LOCALE);
}

function plain(rt: HelperRuntime, s: string): string {
  return rt.plainSpaces ? s.replace(/[\u00a0\u202f]/g, ' ') : s;
}

/** Cut to at most `max` code points (never inside a surrogate pair), ending with `suffix` when cut. */
export function truncateText(value: string, max: number, suffix: string): string {
  const points = Array.from(value);
  if (!(max >= 0) || points.length <= max) return value;
  const suffixPoints = Array.from(suffix);
  const keep = Math.max(0, Math.floor(max) - suffixPoints.length);
  return points.slice(0, keep).join('') + suffix;
}

const scalarText = scalar('string');

export const HELPERS: readonly HelperSpec[] = [
  {
    name: 'money',
    summary: 'amount in the project currency, e.g. {{money ltv}} → €1,234.50 (Intl.NumberFormat; locale= overrides)',
    params: [{ name: 'amount', kind: 'number' }],
    hash: { locale: 'text' },
    result: scalarText,
    create: (rt) => (args, hash) => plain(rt, formatMoney(args[0], rt.ctx.currency, localeOf(rt, hash))),
  },
  {
    name: 'date',
    summary: "timestamp in the customer's time zone; optional luxon format, e.g. {{date ts 'd LLL yyyy'}}",
    params: [
      { name: 'timestamp', kind: 'time' },
      { name: 'format', kind: 'text', optional: true },
    ],
    hash: { locale: 'text' },
    result: scalarText,
    create: (rt) => (args, hash) => plain(rt, formatDate(args[0], args[1], rt.ctx.timezone, localeOf(rt, hash))),
  },
  {
    name: 'link',
    summary: 'a URL; the engine rewrites it for click tracking, the plan leaves it as written',
    params: [{ name: 'url', kind: 'text' }],
    result: scalarText,
    create: (rt) => (args) => {
      const url = text(args[0]);
      if (url === '') return '';
      return rt.ctx.trackLink ? rt.ctx.trackLink(url) : url;
    },
  },
  {
    name: 'pluralize',
    summary: "the singular word when count is 1, else the plural (default: singular + 's'); the count is not printed",
    params: [
      { name: 'count', kind: 'number' },
      { name: 'singular', kind: 'text' },
      { name: 'plural', kind: 'text', optional: true },
    ],
    result: scalarText,
    create: () => (args) => {
      const singular = text(args[1]);
      const plural = args.length > 2 ? text(args[2]) : `${singular}s`;
      return Number(args[0]) === 1 ? singular : plural;
    },
  },
  {
    name: 'upper',
    summary: 'upper case',
    params: [{ name: 'text', kind: 'text' }],
    result: scalarText,
    create: (rt) => (args) => text(args[0]).toLocaleUpperCase(rt.ctx.locale ?? DEFAULT_LOCALE),
  },
  {
    name: 'lower',
    summary: 'lower case',
    params: [{ name: 'text', kind: 'text' }],
    result: scalarText,
    create: (rt) => (args) => text(args[0]).toLocaleLowerCase(rt.ctx.locale ?? DEFAULT_LOCALE),
  },
  {
    name: 'default',
    summary: "the value, or the fallback when it is null or '' — {{default first_name 'there'}}",
    params: [
      { name: 'value', kind: 'text' },
      { name: 'fallback', kind: 'text' },
    ],
    result: scalar('any'),
    create: () => (args) => (args[0] === null || args[0] === undefined || args[0] === '' ? args[1] : args[0]),
  },
  {
    // The default suffix is three ASCII dots, not '…': U+2026 is outside GSM-7 and would make an SMS UCS-2.
    name: 'truncate',
    summary: "at most n characters, ending with suffix (default '...') when cut",
    params: [
      { name: 'text', kind: 'text' },
      { name: 'n', kind: 'number' },
      { name: 'suffix', kind: 'text', optional: true },
    ],
    result: scalarText,
    create: () => (args) => truncateText(text(args[0]), Number(args[1]), args.length > 2 ? text(args[2]) : '...'),
  },
  {
    name: 'recent',
    summary: `the customer's last n (1..${RECENT_MAX}) events of a type, newest first, each with its props, catalogue fields (joined on product_id) and ts: {{#each (recent "product_view" 3)}}`,
    params: [
      { name: 'event', kind: 'text' },
      { name: 'n', kind: 'number' },
    ],
    result: { kind: 'list', item: scalar('any') },
    check(args, env) {
      const [typeArg, nArg] = args;
      let item: ValueType | undefined;
      if (typeArg) {
        const lit = typeArg.literal?.value;
        if (typeof lit !== 'string') {
          env.report({
            code: TEMPLATE_CODE.invalidArgument,
            severity: 'error',
            message: 'recent needs the event type as a string literal',
            span: typeArg.span,
            hint: 'write it in quotes, e.g. (recent "product_view" 3)',
          });
        } else {
          item = recentItemType(env.model, lit);
          if (!item) {
            const hint = didYouMean(lit, env.model.events.keys());
            env.report({
              code: TEMPLATE_CODE.unknownEventType,
              severity: 'error',
              message: `unknown event type '${lit}'`,
              span: typeArg.span,
              ...(hint ? { hint } : {}),
            });
          }
        }
      }
      if (nArg) {
        const n = nArg.literal?.value;
        if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > RECENT_MAX) {
          env.report({
            code: TEMPLATE_CODE.invalidArgument,
            severity: 'error',
            message: `recent needs a whole number literal from 1 to ${RECENT_MAX} as its count`,
            span: nArg.span,
          });
        }
      }
      return item ? { kind: 'list', item } : undefined;
    },
    create: (rt) => (args) =>
      typeof args[0] === 'string' && typeof args[1] === 'number' ? buildRecentItems(rt.model, args[0], Math.min(args[1], RECENT_MAX), rt.ctx) : [],
  },
];

export const HELPER_NAMES: readonly string[] = HELPERS.map((h) => h.name);

const byName = new Map(HELPERS.map((h) => [h.name, h]));

export function findHelper(name: string): HelperSpec | undefined {
  return byName.get(name);
}

/** Handlebars-shaped functions for one render: the trailing `options` argument is split into its hash. */
export function createRuntimeHelpers(rt: HelperRuntime): Record<string, (...args: unknown[]) => unknown> {
  const out: Record<string, (...args: unknown[]) => unknown> = {};
  for (const spec of HELPERS) {
    const impl = spec.create(rt);
    out[spec.name] = (...args: unknown[]) => {
      const options = args.pop() as { hash?: Record<string, unknown> } | undefined;
      return impl(args, options?.hash ?? {});
    };
  }
  return out;
}
