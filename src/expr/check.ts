// The type checker: resolves names against the DataModel and the ExprContext, types every node, tracks
// static nullability, and collects every problem in one pass (STYLE habit 1). A subexpression that already
// failed comes back `undefined`, and its parents stay quiet, so one typo gives one diagnostic.
// Function calls (aggregates, clv, segment, bucket, date and the scalar catalogue) are in check-calls.ts.
import type { Span, SpanDiagnostic } from '../diagnostics/diagnostic.js';
import { assertNever } from '../diagnostics/diagnostic.js';
import type { DataModel, EventDef } from '../model/data-model.js';
import type { ExprEnvironment, ExprType } from './api.js';
import type { BinaryOp, Expr, NamePart } from './ast.js';
import { checkCall } from './check-calls.js';
import { EXPR_CODE } from './codes.js';
import { FIELD_TYPES } from '../model/data-model.js';
import { isOrdered, RFM_FIELDS } from './functions.js';
import { didYouMean } from './suggest.js';
import { elementType, isListType, type InputRef, type Ty, type TypedExpr } from './typed-ast.js';

/** Where a subexpression is: decides what bare names mean and what is allowed. */
export type Scope =
  | { kind: 'profile' }
  | { kind: 'journey-event'; event: EventDef }
  | { kind: 'event-where'; event: EventDef }
  /** Inside an aggregate's `where:`: only the aggregated event's props and constants. */
  | { kind: 'filter'; event: EventDef; fn: string };

export interface CheckResult {
  typed?: TypedExpr;
  diagnostics: SpanDiagnostic[];
  /** Per-customer inputs, deduplicated by key, in order of first use. */
  inputs: InputRef[];
  attributes: string[];
  segments: string[];
  eventProps: string[];
  usesNow: boolean;
}

export class Checker {
  readonly diagnostics: SpanDiagnostic[] = [];
  readonly inputs = new Map<string, InputRef>();
  readonly attributes = new Set<string>();
  readonly segments = new Set<string>();
  readonly eventProps = new Set<string>();
  usesNow = false;

  constructor(
    readonly model: DataModel,
    readonly knownSegments: ReadonlySet<string>,
  ) {}

  error(code: string, message: string, span: Span, hint?: string): undefined {
    this.diagnostics.push({ code, severity: 'error', message, span, ...(hint ? { hint } : {}) });
    return undefined;
  }

  warn(code: string, message: string, span: Span, hint?: string): void {
    this.diagnostics.push({ code, severity: 'warning', message, span, ...(hint ? { hint } : {}) });
  }

  useInput(input: InputRef, span: Span, type: Ty, nullable: boolean): TypedExpr {
    if (!this.inputs.has(input.key)) this.inputs.set(input.key, input);
    return { kind: 'input', input: this.inputs.get(input.key) as InputRef, type, nullable, span };
  }

  /** Rejects what an aggregate's `where:` cannot see; true when `scope` allows it. */
  allowedHere(scope: Scope, what: string, span: Span): boolean {
    if (scope.kind !== 'filter') return true;
    this.error(
      EXPR_CODE.notAllowedInFilter,
      `${what} cannot be used inside the where: of ${scope.fn}()`,
      span,
      `the where: of an aggregate sees only the props of '${scope.event.name}' and constants; combine outside it, e.g. ${scope.fn}(…) > 0 and …`,
    );
    return false;
  }

  check(e: Expr, scope: Scope): TypedExpr | undefined {
    switch (e.kind) {
      case 'number':
        return { kind: 'literal', value: e.value, type: 'number', nullable: false, span: e.span };
      case 'string':
        return { kind: 'literal', value: e.value, type: 'string', nullable: false, span: e.span };
      case 'bool':
        return { kind: 'literal', value: e.value, type: 'bool', nullable: false, span: e.span };
      case 'null':
        return { kind: 'literal', value: null, type: 'null', nullable: true, span: e.span };
      case 'duration':
        return e.ms === undefined ? undefined : { kind: 'literal', value: e.ms, type: 'duration', nullable: false, span: e.span };
      case 'list':
        return this.list(e, scope);
      case 'name':
        return this.name(e.path, e.span, scope);
      case 'call':
        return checkCall(this, e, scope);
      case 'unary':
        return this.unary(e, scope);
      case 'binary':
        return e.op === 'and' || e.op === 'or' ? this.logic(e, e.op, scope) : this.binary(e, e.op, scope);
      case 'in':
        return this.in(e, scope);
      case 'is-null': {
        const operand = this.check(e.operand, scope);
        if (!operand) return undefined;
        return { kind: 'is-null', negated: e.negated, operand, type: 'bool', nullable: false, span: e.span };
      }
      default:
        return assertNever(e, 'expression');
    }
  }

  private list(e: Extract<Expr, { kind: 'list' }>, scope: Scope): TypedExpr | undefined {
    const items: TypedExpr[] = [];
    let elem: Ty = 'null';
    let failed = false;
    for (const item of e.items) {
      const t = this.check(item, scope);
      if (!t) {
        failed = true;
        continue;
      }
      if (isListType(t.type)) {
        this.error(EXPR_CODE.typeMismatch, 'lists cannot contain lists', t.span);
        failed = true;
      } else if (t.type !== 'null' && elem !== 'null' && t.type !== elem) {
        this.error(EXPR_CODE.typeMismatch, `list items must have one type: this is ${t.type}, earlier items are ${elem}`, t.span);
        failed = true;
      } else if (t.type !== 'null') {
        elem = t.type;
      }
      items.push(t);
    }
    if (failed) return undefined;
    return { kind: 'list', items, type: `list<${elem}>` as Ty, nullable: false, span: e.span };
  }

  private name(path: NamePart[], span: Span, scope: Scope): TypedExpr | undefined {
    const [head, field, ...rest] = path;
    const model = this.model;
    if (rest.length > 0) return this.error(EXPR_CODE.unknownName, `unknown name '${path.map((p) => p.name).join('.')}'`, span);
    if (!field) return this.bareName(head, scope);
    switch (head.name) {
      case 'profile': {
        if (!this.allowedHere(scope, 'profile.' + field.name, span)) return undefined;
        return this.attribute(field, span);
      }
      case 'event': {
        if (scope.kind !== 'journey-event') {
          const hint =
            scope.kind === 'event-where' || scope.kind === 'filter'
              ? `the event's props are bare here: write ${field.name}`
              : 'event.<prop> is the event that entered the journey; segments and journeys entered by a segment have none';
          return this.error(EXPR_CODE.eventOutsideJourney, `event.${field.name} is only available in a journey entered by an event`, span, hint);
        }
        return this.eventProp(scope.event, field, span, 'event-prop');
      }
      case 'rfm': {
        if (!this.allowedHere(scope, 'rfm', span)) return undefined;
        if (!model.rfm) return this.notConfigured('rfm', head.span);
        const type = RFM_FIELDS.get(field.name);
        if (!type) return this.error(EXPR_CODE.unknownName, `rfm has no field '${field.name}'`, field.span, didYouMean(field.name, RFM_FIELDS.keys()) ?? 'fields: r, f, m, score, segment');
        const input: InputRef = { kind: 'rfm', key: `rfm|${field.name}`, field: field.name as 'r' };
        return this.useInput(input, span, type, true);
      }
      case 'clv': {
        if (!this.allowedHere(scope, 'clv', span)) return undefined;
        if (!model.clv) return this.notConfigured('clv', head.span);
        if (field.name === 'p_alive') return this.useInput({ kind: 'clv', key: 'clv|p_alive', fn: 'p_alive' }, span, 'number', true);
        if (field.name === 'expected_purchases' || field.name === 'value')
          return this.error(EXPR_CODE.invalidArgument, `clv.${field.name} needs a horizon`, span, `write clv.${field.name}(365d)`);
        return this.error(EXPR_CODE.unknownName, `clv has no field '${field.name}'`, field.span, didYouMean(field.name, ['p_alive', 'expected_purchases', 'value']) ?? 'fields: p_alive, expected_purchases(D), value(D)');
      }
      default: {
        const ev = model.events.get(head.name);
        if (ev) {
          return this.error(
            EXPR_CODE.eventPropOutsideAggregate,
            `${head.name}.${field.name} is a prop of every ${head.name} event, not one value`,
            span,
            `aggregate it: sum(${head.name}.${field.name}), max(…), distinct(…)`,
          );
        }
        const hint = didYouMean(head.name, ['profile', 'event', 'rfm', 'clv', ...model.events.keys()]);
        return this.error(EXPR_CODE.unknownName, `unknown name '${head.name}.${field.name}'`, head.span, hint);
      }
    }
  }

  private bareName(part: NamePart, scope: Scope): TypedExpr | undefined {
    const { name, span } = part;
    if (name === 'now') {
      if (!this.allowedHere(scope, 'now', span)) return undefined;
      this.usesNow = true;
      return { kind: 'now', type: 'timestamp', nullable: false, span };
    }
    if (name === 'ltv') {
      if (!this.allowedHere(scope, 'ltv', span)) return undefined;
      if (!this.model.rfm) return this.notConfigured('ltv', span);
      return this.useInput({ kind: 'ltv', key: 'ltv' }, span, 'number', false);
    }
    if (scope.kind === 'event-where' || scope.kind === 'filter') {
      return this.eventProp(scope.event, part, span, scope.kind === 'filter' ? 'filter-prop' : 'event-prop');
    }
    const attr = this.model.attributes.get(name);
    if (attr) {
      this.attributes.add(name);
      return { kind: 'attribute', name, type: attr.type, nullable: true, span };
    }
    let hint: string | undefined;
    if (this.model.events.has(name)) hint = `'${name}' is an event type: use count(${name}), last(${name}), …`;
    else if (name === 'profile' || name === 'event' || name === 'rfm' || name === 'clv') hint = `write ${name}.<field>`;
    else if (scope.kind === 'journey-event' && scope.event.props.has(name)) hint = `the triggering event's prop is event.${name}`;
    else hint = didYouMean(name, [...this.model.attributes.keys(), 'now', 'ltv']);
    return this.error(EXPR_CODE.unknownName, `unknown attribute '${name}'`, span, hint);
  }

  private attribute(part: NamePart, span: Span): TypedExpr | undefined {
    const attr = this.model.attributes.get(part.name);
    if (!attr) return this.error(EXPR_CODE.unknownName, `unknown attribute '${part.name}'`, part.span, didYouMean(part.name, this.model.attributes.keys()));
    this.attributes.add(part.name);
    return { kind: 'attribute', name: part.name, type: attr.type, nullable: true, span };
  }

  private eventProp(ev: EventDef, part: NamePart, span: Span, kind: 'event-prop' | 'filter-prop'): TypedExpr | undefined {
    const prop = ev.props.get(part.name);
    if (!prop) {
      const hint =
        didYouMean(part.name, ev.props.keys()) ??
        (kind === 'event-prop' && this.model.attributes.has(part.name) ? `for the attribute, write profile.${part.name}` : undefined) ??
        (ev.props.size > 0 ? `props of ${ev.name}: ${[...ev.props.keys()].join(', ')}` : `${ev.name} has no props`);
      return this.error(EXPR_CODE.unknownEventProp, `event '${ev.name}' has no prop '${part.name}'`, part.span, hint);
    }
    if (kind === 'event-prop') this.eventProps.add(part.name);
    return { kind, name: part.name, type: prop.type, nullable: true, span };
  }

  notConfigured(what: 'rfm' | 'ltv' | 'clv', span: Span): undefined {
    const hint =
      what === 'clv'
        ? 'declare clv: { transaction: purchase.amount } in the Project spec'
        : 'declare rfm: { window: 365d, monetary: purchase.amount } in the Project spec';
    return this.error(EXPR_CODE.notConfigured, `${what} is used but the project does not configure ${what === 'ltv' ? 'rfm (ltv sums its monetary prop)' : what}`, span, hint);
  }

  private unary(e: Extract<Expr, { kind: 'unary' }>, scope: Scope): TypedExpr | undefined {
    const operand = this.check(e.operand, scope);
    if (!operand) return undefined;
    if (e.op === 'not') {
      if (operand.type !== 'bool' && operand.type !== 'null') return this.error(EXPR_CODE.typeMismatch, `'not' needs a bool, not ${operand.type}`, e.span);
      return { kind: 'not', operand, type: 'bool', nullable: operand.nullable, span: e.span };
    }
    if (operand.type !== 'number' && operand.type !== 'duration' && operand.type !== 'null')
      return this.error(EXPR_CODE.typeMismatch, `unary '-' needs a number or a duration, not ${operand.type}`, e.span);
    return { kind: 'neg', operand, type: operand.type, nullable: operand.nullable, span: e.span };
  }

  private logic(e: Extract<Expr, { kind: 'binary' }>, op: 'and' | 'or', scope: Scope): TypedExpr | undefined {
    const left = this.check(e.left, scope);
    const right = this.check(e.right, scope);
    if (!left || !right) return undefined;
    for (const side of [left, right]) {
      if (side.type !== 'bool' && side.type !== 'null') {
        return this.error(EXPR_CODE.typeMismatch, `'${op}' needs bool operands, not ${side.type}`, side.span, side.type === 'number' ? 'compare it, e.g. … > 0' : undefined);
      }
    }
    return { kind: 'logic', op, left, right, type: 'bool', nullable: left.nullable || right.nullable, span: e.span };
  }

  private binary(e: Extract<Expr, { kind: 'binary' }>, op: Exclude<BinaryOp, 'and' | 'or'>, scope: Scope): TypedExpr | undefined {
    const left = this.check(e.left, scope);
    const right = this.check(e.right, scope);
    if (!left || !right) return undefined;
    const l = left.type;
    const r = right.type;
    const nullable = left.nullable || right.nullable;
    const node = (type: Ty, isNullable: boolean): TypedExpr => ({ kind: 'binary', op, left, right, type, nullable: isNullable, span: e.span });
    if (op === '==' || op === '!=' || op === '<' || op === '<=' || op === '>' || op === '>=') {
      if (l === 'null' || r === 'null') {
        this.warn(EXPR_CODE.nullComparison, `comparing with null gives null, so this is never true`, e.span, op === '!=' ? 'use … is not null' : op === '==' ? 'use … is null' : undefined);
        return node('bool', true);
      }
      if (isListType(l) || isListType(r)) return this.error(EXPR_CODE.typeMismatch, `lists cannot be compared with '${op}'`, e.span, "use 'in' to test membership");
      if (l !== r) {
        const hint = comparisonHint(left, right);
        return this.error(EXPR_CODE.typeMismatch, `cannot compare ${l} with ${r}`, e.span, hint);
      }
      if (op !== '==' && op !== '!=' && !isOrdered(l)) return this.error(EXPR_CODE.typeMismatch, `'${op}' does not apply to ${l}`, e.span);
      return node('bool', nullable);
    }
    const result = arithmeticType(op, l, r);
    if (!result) return this.error(EXPR_CODE.typeMismatch, `'${op}' does not apply to ${l} and ${r}`, e.span, arithmeticHint(op, l, r));
    // x / 0 is null (see compile-js.ts), so a division is nullable unless the divisor is a non-zero constant.
    const divisorSafe = op !== '/' || (right.kind === 'literal' && right.value !== 0 && right.value !== null);
    return node(result, nullable || !divisorSafe);
  }

  private in(e: Extract<Expr, { kind: 'in' }>, scope: Scope): TypedExpr | undefined {
    const value = this.check(e.value, scope);
    const list = this.check(e.list, scope);
    if (!value || !list) return undefined;
    if (list.type !== 'null' && !isListType(list.type)) {
      return this.error(EXPR_CODE.typeMismatch, `'in' needs a list on its right, not ${list.type}`, list.span, 'write x in ["a", "b"]');
    }
    if (isListType(value.type)) return this.error(EXPR_CODE.typeMismatch, `the left of 'in' must be a single value, not ${value.type}`, value.span);
    const elem = list.type === 'null' ? 'null' : elementType(list.type);
    if (value.type !== 'null' && elem !== 'null' && value.type !== elem) {
      return this.error(EXPR_CODE.typeMismatch, `cannot look for a ${value.type} in a list<${elem}>`, e.span);
    }
    // Static nullability: only a literal list of non-null items tested with a non-null value is never null
    // (an empty literal list is always false, as PostgreSQL's x = ANY('{}')).
    const literalNonNull = list.kind === 'list' && list.items.every((i) => !i.nullable);
    const emptyLiteral = list.kind === 'list' && list.items.length === 0;
    const nullable = !emptyLiteral && (value.nullable || !literalNonNull);
    return { kind: 'in', negated: e.negated, value, list, type: 'bool', nullable, span: e.span };
  }
}

function arithmeticType(op: '+' | '-' | '*' | '/', l: Ty, r: Ty): Ty | undefined {
  if (l === 'null' && r === 'null') return 'null';
  if (l === 'null' || r === 'null') {
    // Valid if some type for the null literal makes it valid; the result is always null, so its type is
    // 'null' (which fits anywhere) rather than a guess: `1h + null` may mean a duration or a timestamp.
    const candidates: Ty[] = ['number', 'duration', 'timestamp'];
    const valid = candidates.some((t) => (l === 'null' ? ARITHMETIC[`${t} ${op} ${r}`] : ARITHMETIC[`${l} ${op} ${t}`]));
    return valid ? 'null' : undefined;
  }
  return ARITHMETIC[`${l} ${op} ${r}`];
}

const ARITHMETIC: Record<string, Ty | undefined> = {
  'number + number': 'number',
  'number - number': 'number',
  'number * number': 'number',
  'number / number': 'number',
  'duration + duration': 'duration',
  'duration - duration': 'duration',
  'duration * number': 'duration',
  'number * duration': 'duration',
  'duration / number': 'duration',
  'duration / duration': 'number',
  'timestamp + duration': 'timestamp',
  'duration + timestamp': 'timestamp',
  'timestamp - duration': 'timestamp',
  'timestamp - timestamp': 'duration',
};

function arithmeticHint(op: string, l: Ty, r: Ty): string | undefined {
  if ((l === 'timestamp' || r === 'timestamp') && (l === 'number' || r === 'number'))
    return 'add a duration to a timestamp (now - 30d), or use days_since(t) for a number of days';
  if ((l === 'duration' || r === 'duration') && (l === 'number' || r === 'number') && (op === '+' || op === '-'))
    return 'write the number as a duration, e.g. 30d';
  if (l === 'string' && r === 'string' && op === '+') return 'strings cannot be concatenated in expressions';
  return undefined;
}

function comparisonHint(left: TypedExpr, right: TypedExpr): string | undefined {
  const types = [left.type, right.type];
  if (types.includes('timestamp') && types.includes('number')) return 'use days_since(t) > 30, or compare with a timestamp: t < now - 30d';
  if (types.includes('duration') && types.includes('number')) return 'write the number with a unit, e.g. 30d';
  if (types.includes('timestamp') && types.includes('string')) return 'write the date as date("2024-01-31")';
  if (types.includes('number') && types.includes('string')) {
    const lit = [left, right].find((x) => x.kind === 'literal' && x.type === 'string');
    if (lit && lit.kind === 'literal' && typeof lit.value === 'string' && lit.value.trim() !== '' && Number.isFinite(Number(lit.value)))
      return `remove the quotes: ${lit.value}`;
  }
  return undefined;
}

function contextScope(env: ExprEnvironment, checker: Checker): Scope | undefined {
  const ctx = env.context;
  switch (ctx.kind) {
    case 'profile':
      return { kind: 'profile' };
    case 'journey-event':
    case 'event-where': {
      const event = env.model.events.get(ctx.event);
      if (!event) {
        checker.error(EXPR_CODE.unknownEventType, `the context's event type '${ctx.event}' is not declared`, { start: 0, end: 0 }, didYouMean(ctx.event, env.model.events.keys()));
        return undefined;
      }
      return { kind: ctx.kind, event };
    }
    default:
      return assertNever(ctx, 'expression context');
  }
}

/** Types `ast` in `env`; `typed` is absent when an error was reported. */
export function checkExpression(ast: Expr, env: ExprEnvironment): CheckResult {
  const checker = new Checker(env.model, env.segments);
  const scope = contextScope(env, checker);
  let typed = scope ? checker.check(ast, scope) : undefined;
  const expected = env.expected ?? 'bool';
  if (typed && expected !== 'any' && typed.type !== expected && typed.type !== 'null') {
    const message = expected === 'bool' ? `a condition must be bool, but this is ${typed.type}` : `expected ${expected}, but this is ${typed.type}`;
    const hint = expected === 'bool' && typed.type === 'number' ? 'compare it, e.g. … > 0' : undefined;
    checker.error(EXPR_CODE.wrongResultType, message, typed.span, hint);
    typed = undefined;
  }
  if (typed && !isExprType(typed.type)) {
    checker.error(EXPR_CODE.wrongResultType, `an expression cannot produce ${typed.type}`, typed.span);
    typed = undefined;
  }
  const failed = checker.diagnostics.some((d) => d.severity === 'error');
  return {
    typed: failed ? undefined : typed,
    diagnostics: checker.diagnostics,
    inputs: [...checker.inputs.values()],
    attributes: [...checker.attributes],
    segments: [...checker.segments],
    eventProps: [...checker.eventProps],
    usesNow: checker.usesNow,
  };
}

export function isExprType(t: Ty): t is ExprType {
  return t === 'null' || (FIELD_TYPES as readonly string[]).includes(t);
}
