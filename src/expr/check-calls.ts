// Type checking of function calls: aggregates (which become per-customer inputs with canonical keys),
// clv.*(…), segment / bucket / date (constant arguments only) and the scalar catalogue.
import type { Span } from '../diagnostics/diagnostic.js';
import type { EventDef } from '../model/data-model.js';
import type { Arg, Expr } from './ast.js';
import { canonicalText } from './canonical.js';
import type { Checker, Scope } from './check.js';
import { EXPR_CODE } from './codes.js';
import { FUNCTIONS, type AggregateFunction, type ScalarFunction } from './functions.js';
import { didYouMean } from './suggest.js';
import type { InputRef, TypedExpr } from './typed-ast.js';

type CallExpr = Extract<Expr, { kind: 'call' }>;

export function checkCall(c: Checker, e: CallExpr, scope: Scope): TypedExpr | undefined {
  const path = e.callee;
  const fullName = path.map((p) => p.name).join('.');
  if (path.length === 2 && path[0].name === 'clv') return clvCall(c, e, path[1].name, scope);
  const fn = path.length === 1 ? FUNCTIONS.get(path[0].name) : undefined;
  if (!fn) {
    const name = path[0].name;
    const hint =
      path.length === 1 && c.model.attributes.has(name)
        ? `'${name}' is an attribute, not a function`
        : didYouMean(fullName, FUNCTIONS.keys()) ?? `functions: ${[...FUNCTIONS.keys()].join(', ')}`;
    return c.error(EXPR_CODE.unknownFunction, `unknown function '${fullName}'`, e.calleeSpan, hint);
  }
  switch (fn.kind) {
    case 'aggregate':
      return aggregateCall(c, e, fn, scope);
    case 'scalar':
      return scalarCall(c, e, fn, scope);
    case 'segment':
      return segmentCall(c, e, scope);
    case 'bucket':
      return bucketCall(c, e, scope);
    case 'date':
      return dateCall(c, e);
  }
}

/** Checks that a call has `min..max` positional arguments and no named ones; reports otherwise. */
function positional(c: Checker, e: CallExpr, name: string, min: number, max: number, usage: string): Expr[] | undefined {
  const named = e.args.find((a) => a.name);
  if (named?.name) {
    c.error(EXPR_CODE.invalidArgument, `${name}() takes no named argument '${named.name.name}'`, named.span, `usage: ${usage}`);
    return undefined;
  }
  if (e.args.length < min || e.args.length > max) {
    const want = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
    c.error(EXPR_CODE.wrongArity, `${name}() takes ${want} argument${max === 1 ? '' : 's'}, got ${e.args.length}`, e.span, `usage: ${usage}`);
    return undefined;
  }
  return e.args.map((a) => a.value);
}

function constDuration(c: Checker, e: Expr, what: string): number | undefined {
  if (e.kind === 'duration') {
    if (e.ms === undefined) return undefined; // already reported by the AST builder
    if (e.ms > 0) return e.ms;
  }
  c.error(EXPR_CODE.invalidArgument, `${what} needs a positive constant duration`, e.span, 'e.g. 30d, 12h, 2w');
  return undefined;
}

function constNumber(e: Expr): number | undefined {
  if (e.kind === 'number') return e.value;
  if (e.kind === 'unary' && e.op === '-' && e.operand.kind === 'number') return -e.operand.value;
  return undefined;
}

function aggregateCall(c: Checker, e: CallExpr, fn: AggregateFunction, scope: Scope): TypedExpr | undefined {
  if (!c.allowedHere(scope, `${fn.name}()`, e.calleeSpan)) return undefined;
  const positionalArgs = e.args.filter((a) => !a.name);
  const namedArgs = e.args.filter((a) => a.name);
  if (positionalArgs.length !== 1) {
    const span = positionalArgs.length > 1 ? positionalArgs[1].span : e.span;
    return c.error(EXPR_CODE.wrongArity, `${fn.name}() takes one ${fn.arg === 'event' ? 'event type' : 'event prop'} and the named arguments within: and where:`, span, `usage: ${fn.signature}`);
  }
  let ok = true;
  const named = new Map<string, Arg>();
  for (const a of namedArgs) {
    const n = a.name as { name: string; span: Span };
    if (n.name !== 'within' && n.name !== 'where') {
      c.error(EXPR_CODE.invalidArgument, `${fn.name}() has no argument '${n.name}'`, n.span, didYouMean(n.name, ['within', 'where']) ?? `usage: ${fn.signature}`);
      ok = false;
    } else if (named.has(n.name)) {
      c.error(EXPR_CODE.invalidArgument, `${n.name}: is given twice`, a.span);
      ok = false;
    } else {
      named.set(n.name, a);
    }
  }
  const target = aggregateTarget(c, positionalArgs[0].value, fn);
  let withinMs: number | undefined;
  const within = named.get('within');
  if (within) {
    withinMs = constDuration(c, within.value, 'within:');
    if (withinMs === undefined) ok = false;
  }
  let where: TypedExpr | undefined;
  const whereArg = named.get('where');
  if (whereArg && target) {
    where = c.check(whereArg.value, { kind: 'filter', event: target.event, fn: fn.name });
    if (!where) ok = false;
    else if (where.type !== 'bool' && where.type !== 'null') {
      c.error(EXPR_CODE.typeMismatch, `where: needs a condition (bool), not ${where.type}`, where.span);
      ok = false;
    }
  }
  if (!ok || !target) return undefined;
  const subject = target.prop ? `${target.event.name}.${target.prop}` : target.event.name;
  let key = `${fn.name}|${subject}`;
  if (withinMs !== undefined) key += `|within=${withinMs}`;
  if (where) key += `|where=${canonicalText(where)}`;
  const input: InputRef = {
    kind: 'aggregate',
    key,
    fn: fn.name,
    event: target.event.name,
    ...(target.prop !== undefined ? { prop: target.prop } : {}),
    ...(withinMs !== undefined ? { withinMs } : {}),
    ...(where ? { where } : {}),
  };
  return c.useInput(input, e.span, fn.returns, fn.nullable);
}

/** Resolves `E` or `E.prop` as the first argument of an aggregate. */
function aggregateTarget(c: Checker, arg: Expr, fn: AggregateFunction): { event: EventDef; prop?: string } | undefined {
  if (arg.kind !== 'name' || arg.path.length > 2) {
    const example = fn.arg === 'event' ? `${fn.name}(purchase)` : `${fn.name}(purchase.amount)`;
    return c.error(EXPR_CODE.invalidArgument, `the first argument of ${fn.name}() must be ${fn.arg === 'event' ? 'an event type' : 'an event prop'}`, arg.span, `e.g. ${example}`);
  }
  const [head, field] = arg.path;
  const event = c.model.events.get(head.name);
  if (!event) {
    const hint = didYouMean(head.name, c.model.events.keys()) ?? `event types: ${[...c.model.events.keys()].join(', ')}`;
    return c.error(EXPR_CODE.unknownEventType, `unknown event type '${head.name}'`, head.span, hint);
  }
  const numericProps = [...event.props.values()].filter((p) => p.type === 'number').map((p) => `${event.name}.${p.name}`);
  if (fn.arg === 'event') {
    if (field) {
      return c.error(EXPR_CODE.invalidArgument, `${fn.name}() takes an event type, not a prop`, arg.span, `write ${fn.name}(${event.name}); to require the prop, add where: ${field.name} is not null`);
    }
    return { event };
  }
  if (!field) {
    const hint = fn.arg === 'numeric-prop' && numericProps.length > 0 ? `e.g. ${fn.name}(${numericProps[0]})` : `write ${fn.name}(${event.name}.<prop>)`;
    return c.error(EXPR_CODE.invalidArgument, `${fn.name}() needs a prop of ${event.name}, not the event type`, arg.span, hint);
  }
  const prop = event.props.get(field.name);
  if (!prop) {
    const hint = didYouMean(field.name, event.props.keys()) ?? (event.props.size > 0 ? `props of ${event.name}: ${[...event.props.keys()].join(', ')}` : `${event.name} has no props`);
    return c.error(EXPR_CODE.unknownEventProp, `event '${event.name}' has no prop '${field.name}'`, field.span, hint);
  }
  if (fn.arg === 'numeric-prop' && prop.type !== 'number') {
    const hint = numericProps.length > 0 ? `numeric props of ${event.name}: ${numericProps.join(', ')}` : `${event.name} has no numeric prop`;
    return c.error(EXPR_CODE.nonNumericAggregate, `${fn.name}() needs a numeric prop; ${event.name}.${field.name} is ${prop.type}`, arg.span, hint);
  }
  if (fn.arg === 'scalar-prop' && prop.type.startsWith('list<')) {
    return c.error(EXPR_CODE.invalidArgument, `${fn.name}() needs a single-valued prop; ${event.name}.${field.name} is ${prop.type}`, arg.span);
  }
  return { event, prop: field.name };
}

function scalarCall(c: Checker, e: CallExpr, fn: ScalarFunction, scope: Scope): TypedExpr | undefined {
  if (fn.usesNow && !c.allowedHere(scope, `${fn.name}()`, e.calleeSpan)) return undefined;
  const raw = positional(c, e, fn.name, fn.minArgs, fn.maxArgs, fn.signature);
  if (!raw) return undefined;
  const args = raw.map((a) => c.check(a, scope));
  if (args.some((a) => a === undefined)) return undefined;
  const typed = args as TypedExpr[];
  const type = fn.type(typed.map((a) => a.type));
  if (typeof type === 'object') return c.error(EXPR_CODE.typeMismatch, type.message, typed[type.arg].span, `usage: ${fn.signature}`);
  if (fn.usesNow) c.usesNow = true;
  const nullable = fn.nulls === 'propagate' ? typed.some((a) => a.nullable) : typed.every((a) => a.nullable);
  return { kind: 'call', fn, args: typed, type, nullable, span: e.span };
}

function segmentCall(c: Checker, e: CallExpr, scope: Scope): TypedExpr | undefined {
  if (!c.allowedHere(scope, 'segment()', e.calleeSpan)) return undefined;
  const args = positional(c, e, 'segment', 1, 1, 'segment("name")');
  if (!args) return undefined;
  const arg = args[0];
  if (arg.kind !== 'string') return c.error(EXPR_CODE.invalidArgument, 'segment() needs the segment name as a string literal', arg.span, 'e.g. segment("lapsed-loyal")');
  if (!c.knownSegments.has(arg.value)) {
    return c.error(EXPR_CODE.unknownSegment, `unknown segment '${arg.value}'`, arg.span, didYouMean(arg.value, c.knownSegments));
  }
  c.segments.add(arg.value);
  return { kind: 'segment', name: arg.value, type: 'bool', nullable: false, span: e.span };
}

function bucketCall(c: Checker, e: CallExpr, scope: Scope): TypedExpr | undefined {
  if (!c.allowedHere(scope, 'bucket()', e.calleeSpan)) return undefined;
  const args = positional(c, e, 'bucket', 1, 2, 'bucket(N[, "salt"])');
  if (!args) return undefined;
  const n = constNumber(args[0]);
  let ok = true;
  if (n === undefined || !Number.isInteger(n) || n < 1 || n > 2 ** 31) {
    c.error(EXPR_CODE.invalidArgument, 'bucket() needs a whole number of buckets from 1 to 2^31 as a constant', args[0].span, 'e.g. bucket(100) < 10 for a 10% holdout');
    ok = false;
  }
  const saltArg = args[1];
  if (saltArg && saltArg.kind !== 'string') {
    c.error(EXPR_CODE.invalidArgument, 'the salt of bucket() must be a string literal', saltArg.span, 'e.g. bucket(2, "subject-test")');
    ok = false;
  }
  if (!ok) return undefined;
  const salt = saltArg?.kind === 'string' ? saltArg.value : undefined;
  return { kind: 'bucket', n: n as number, ...(salt !== undefined ? { salt } : {}), type: 'number', nullable: false, span: e.span };
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** Epoch ms of an ISO date or date-time with zone, or undefined when malformed or not a real date. */
export function parseDateLiteral(text: string): number | undefined {
  const m = DATE_RE.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h = '0', mi = '0', s = '0', ms = '0', zone] = m.slice(1);
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const base = Date.UTC(year, month - 1, day, Number(h), Number(mi), Number(s), Number(ms.padEnd(3, '0')));
  const check = new Date(base);
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return undefined;
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return undefined;
  let offset = 0;
  if (zone && zone !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const [zh, zm] = zone.slice(1).split(':').map(Number);
    if (zh > 23 || zm > 59) return undefined;
    offset = sign * (zh * 60 + zm) * 60_000;
  }
  return base - offset;
}

function dateCall(c: Checker, e: CallExpr): TypedExpr | undefined {
  const args = positional(c, e, 'date', 1, 1, 'date("2024-01-31")');
  if (!args) return undefined;
  const arg = args[0];
  if (arg.kind !== 'string') return c.error(EXPR_CODE.invalidArgument, 'date() needs a string literal', arg.span, 'e.g. date("2024-01-31") or date("2024-01-31T10:00:00Z")');
  const ms = parseDateLiteral(arg.value);
  if (ms === undefined) {
    const hint = /T\d{2}:\d{2}(:\d{2})?$/.test(arg.value)
      ? 'a date-time needs a zone: add Z (UTC) or an offset like +01:00'
      : 'write YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]Z';
    return c.error(EXPR_CODE.invalidDate, `invalid date '${arg.value}'`, arg.span, hint);
  }
  return { kind: 'literal', value: ms, type: 'timestamp', nullable: false, span: e.span };
}

function clvCall(c: Checker, e: CallExpr, field: string, scope: Scope): TypedExpr | undefined {
  if (!c.allowedHere(scope, 'clv', e.calleeSpan)) return undefined;
  if (field !== 'expected_purchases' && field !== 'value') {
    const hint = field === 'p_alive' ? 'clv.p_alive takes no arguments: write clv.p_alive' : didYouMean(field, ['expected_purchases', 'value', 'p_alive']);
    return c.error(EXPR_CODE.unknownFunction, `unknown function 'clv.${field}'`, e.calleeSpan, hint);
  }
  if (!c.model.clv) return c.notConfigured('clv', e.calleeSpan);
  const usage = field === 'value' ? 'clv.value(365d) or clv.value(365d, 0.1) (annual discount rate)' : 'clv.expected_purchases(30d)';
  const args = positional(c, e, `clv.${field}`, 1, field === 'value' ? 2 : 1, usage);
  if (!args) return undefined;
  const horizonMs = constDuration(c, args[0], `clv.${field}()`);
  let rate: number | undefined;
  if (args[1]) {
    rate = constNumber(args[1]);
    if (rate === undefined || rate < 0 || rate >= 10) {
      c.error(EXPR_CODE.invalidArgument, 'the discount rate must be a constant number from 0 (e.g. 0.1 for 10% a year)', args[1].span);
      return undefined;
    }
  }
  if (horizonMs === undefined) return undefined;
  // A rate of 0 means no discounting, which is also what an absent rate means: one input, one key.
  const discountRate = rate === 0 ? undefined : rate;
  let key = `clv|${field}|horizon=${horizonMs}`;
  if (discountRate !== undefined) key += `|rate=${discountRate}`;
  const input: InputRef = { kind: 'clv', key, fn: field, horizonMs, ...(discountRate !== undefined ? { discountRate } : {}) };
  return c.useInput(input, e.span, 'number', true);
}
