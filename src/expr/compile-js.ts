// Typed AST → JavaScript, compiled once with `new Function`.
//
// Safety: user text reaches the generated source only as JSON.stringify'd string literals (values, and
// attribute / prop / segment names, which are always read as `P["name"]`, never as identifiers) or as
// numbers printed from finite JS numbers. Everything else in the source is produced by this file.
//
// Semantics are SQL's (DESIGN §4.2): any comparison or arithmetic with null is null, and/or/not are
// three-valued, `test()` is true only for true. Division by zero gives null: PostgreSQL raises an error
// instead, which would abort a whole segment query for one customer; compile-sql guards the divisor with
// NULLIF(d, 0) so both back-ends agree.
//
// Speed: the checker's static nullability drives three code shapes per node, so a non-null path is plain
// JavaScript (`I[0] >= 5`) and null checks appear only where a value can be null:
// - val(e):      the value, null for unknown;
// - guarded(e):  `{ g, v }`: conditions that all hold iff e is not null, then v (used once) is its value —
//                lets `days_since(last(purchase)) > 90` become `(t0 = I[1]) != null && (N - t0) / 864e5 > 90`;
// - isTrue(e) / isFalse(e) for conditions: and/or/not push through (test(a and b) = test(a) && test(b)),
//   so a condition never materialises a three-valued intermediate.
// No closures or allocations per call on these paths; temporaries are function locals.
import { assertNever } from '../diagnostics/diagnostic.js';
import type { EventPredicate } from '../model/inputs.js';
import { canonicalText } from './canonical.js';
import type { JsCallContext } from './functions.js';
import { runtime } from './runtime.js';
import type { InputRef, TypedExpr, TypedOf } from './typed-ast.js';

interface Guarded {
  /** Conditions that all hold iff the value is not null; they may assign temporaries used by `v`. */
  g: string[];
  /** The value, valid once the guards hold; evaluate it at most once. */
  v: string;
}

const COMPARE: Record<string, [op: string, inverse: string]> = {
  '==': ['===', '!=='],
  '!=': ['!==', '==='],
  '<': ['<', '>='],
  '<=': ['<=', '>'],
  '>': ['>', '<='],
  '>=': ['>=', '<'],
};

/** Constant lists up to this size test membership with `===` chains; longer ones use a Set. */
const INLINE_LIST_MAX = 8;

function isComparison(e: TypedExpr): e is TypedOf<'binary'> {
  return e.kind === 'binary' && e.op in COMPARE;
}

function jsLiteral(value: number | string | boolean | null): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (!Number.isFinite(value)) throw new Error(`non-finite number literal ${value}`);
  return value < 0 || Object.is(value, -0) ? `(${value})` : String(value);
}

/** Whether generated code `s` is one parenthesised group: its first `(` closes at its last character. */
function isWrapped(s: string): boolean {
  if (!s.startsWith('(')) return false;
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '"') {
      // Skip a JSON string literal (the only strings this generator emits).
      for (i++; i < s.length && s[i] !== '"'; i++) if (s[i] === '\\') i++;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i === s.length - 1;
  }
  return false;
}

/** A literal list whose items are all non-null constants: membership can be tested inline or with a Set. */
function constantItems(list: TypedExpr): (number | string | boolean)[] | undefined {
  if (list.kind !== 'list') return undefined;
  const out: (number | string | boolean)[] = [];
  for (const item of list.items) {
    if (item.kind !== 'literal' || item.value === null) return undefined;
    out.push(item.value);
  }
  return out;
}

/**
 * `obj["name"]`; for names that plain objects inherit (`constructor`, `toString`, `__proto__`…) an own-property
 * check, so a missing `constructor` attribute reads as null rather than as Object.
 */
function propertyRead(obj: string, name: string): string {
  const key = JSON.stringify(name);
  return name in Object.prototype ? `(Object.hasOwn(${obj}, ${key}) ? ${obj}[${key}] : undefined)` : `${obj}[${key}]`;
}

class JsGen implements JsCallContext {
  private temps = 0;
  readonly used = new Set<'P' | 'I' | 'N' | 'E' | 'S' | 'env'>();
  readonly helpers = 'H';

  constructor(
    private readonly consts: unknown[],
    private readonly inputIndex: ReadonlyMap<string, number>,
    /** `env`: an expression over EvalEnv; `filter`: an aggregate's where over one event's props `p`. */
    private readonly mode: 'env' | 'filter',
  ) {}

  now(): string {
    this.used.add('N');
    return 'N';
  }

  temp(): string {
    return `t${this.temps++}`;
  }

  /** The function body's declarations, for what the generated expression used. */
  prologue(): string {
    const decl: string[] = [];
    if (this.used.has('P')) decl.push('P = env.profile');
    if (this.used.has('I')) decl.push('I = env.inputs');
    if (this.used.has('N')) decl.push('N = env.now');
    if (this.used.has('E')) decl.push('E = env.event || H.EMPTY');
    if (this.used.has('S')) decl.push('S = env.segment');
    let code = decl.length > 0 ? `const ${decl.join(', ')};\n` : '';
    if (this.temps > 0) code += `let ${Array.from({ length: this.temps }, (_, i) => `t${i}`).join(', ')};\n`;
    return code;
  }

  private constant(value: unknown): string {
    this.consts.push(value);
    return `K[${this.consts.length - 1}]`;
  }

  /** A raw read of a possibly missing value (undefined counts as null; callers test with `!= null`). */
  private read(e: TypedExpr): string | undefined {
    if (this.mode === 'filter' && (e.kind === 'attribute' || e.kind === 'event-prop' || e.kind === 'input')) {
      throw new Error(`${e.kind} in an aggregate filter: the checker should have rejected it`);
    }
    switch (e.kind) {
      case 'attribute':
        this.used.add('P');
        return propertyRead('P', e.name);
      case 'event-prop':
        this.used.add('E');
        return propertyRead('E', e.name);
      case 'filter-prop':
        return propertyRead('p', e.name);
      case 'input': {
        const index = this.inputIndex.get(e.input.key);
        if (index === undefined) throw new Error(`input ${e.input.key} has no index`);
        this.used.add('I');
        return `I[${index}]`;
      }
      default:
        return undefined;
    }
  }

  /** `v` as something that can be used several times: itself when trivial, else a temporary. */
  private once(v: string): { setup: string; ref: string } {
    if (/^(?:t\d+|[A-Z]|K\[\d+\]|\(?-?[\d.e+]+\)?|"(?:[^"\\]|\\.)*"|true|false)$/.test(v)) return { setup: '', ref: v };
    const t = this.temp();
    return { setup: `${t} = ${v}, `, ref: t };
  }

  guarded(e: TypedExpr): Guarded {
    if (!e.nullable) return { g: [], v: this.val(e) };
    if (e.kind === 'literal') return { g: ['false'], v: 'null' };
    const raw = this.read(e);
    if (raw !== undefined) {
      const t = this.temp();
      return { g: [`(${t} = ${raw}) != null`], v: t };
    }
    switch (e.kind) {
      case 'neg': {
        const x = this.guarded(e.operand);
        return { g: x.g, v: `(-${x.v})` };
      }
      case 'binary': {
        const l = this.guarded(e.left);
        const r = this.guarded(e.right);
        const g = [...l.g, ...r.g];
        if (e.op in COMPARE) return { g, v: `(${l.v} ${COMPARE[e.op][0]} ${r.v})` };
        if (e.op === '/' && !(e.right.kind === 'literal' && e.right.value !== 0)) {
          const d = this.temp();
          g.push(`(${d} = ${r.v}) !== 0`);
          return { g, v: `(${l.v} / ${d})` };
        }
        return { g, v: `(${l.v} ${e.op} ${r.v})` };
      }
      case 'call':
        if (e.fn.nulls === 'propagate') {
          const args = e.args.map((a) => this.guarded(a));
          return { g: args.flatMap((a) => a.g), v: this.callJs(e, args.map((a) => a.v)) };
        }
        break;
      case 'in': {
        const items = constantItems(e.list);
        if (items && items.length > 0) {
          const x = this.guarded(e.value);
          const m = this.membership(x.v, items);
          return { g: x.g, v: e.negated ? `!${m}` : m };
        }
        break;
      }
      default:
        break;
    }
    const t = this.temp();
    return { g: [`(${t} = ${this.val(e)}) !== null`], v: t };
  }

  /** A catalogue function's code, parenthesised on both sides so no precedence leaks in or out. */
  private callJs(e: TypedOf<'call'>, args: string[]): string {
    const safe = args.map((a) => (/^(?:t\d+|[A-Z]|K\[\d+\])$/.test(a) || isWrapped(a) ? a : `(${a})`));
    return `(${e.fn.js(safe, e.args.map((a) => a.type), this)})`;
  }

  private membership(v: string, items: readonly (number | string | boolean)[]): string {
    const { setup, ref } = this.once(v);
    if (items.length > INLINE_LIST_MAX) return `(${setup}${this.constant(new Set(items))}.has(${ref}))`;
    return `(${setup}${items.map((i) => `${ref} === ${jsLiteral(i)}`).join(' || ')})`;
  }

  val(e: TypedExpr): string {
    if (e.nullable) {
      const raw = this.read(e);
      if (raw !== undefined) return `(${raw} ?? null)`;
      if (e.kind === 'neg' || e.kind === 'binary' || (e.kind === 'call' && e.fn.nulls === 'propagate') || (e.kind === 'in' && constantItems(e.list)?.length)) {
        const x = this.guarded(e);
        return `(${x.g.join(' && ')} ? ${x.v} : null)`;
      }
    }
    switch (e.kind) {
      case 'literal':
        return jsLiteral(e.value);
      case 'list': {
        const items = constantItems(e);
        if (items) return this.constant(Object.freeze(items));
        return `[${e.items.map((i) => this.val(i)).join(', ')}]`;
      }
      case 'attribute':
      case 'event-prop':
      case 'filter-prop':
      case 'input':
        return this.read(e) as string;
      case 'now':
        return this.now();
      case 'call':
        return this.callJs(e, e.args.map((a) => this.val(a)));
      case 'segment':
        this.used.add('S');
        return `(S !== undefined && S(${JSON.stringify(e.name)}) === true)`;
      case 'bucket':
        this.used.add('env');
        return `H.bucket(${e.n}, ${e.salt === undefined ? 'undefined' : JSON.stringify(e.salt)}, env)`;
      case 'not': {
        if (!e.operand.nullable) return `!${this.val(e.operand)}`;
        const t = this.temp();
        return `((${t} = ${this.val(e.operand)}) === null ? null : !${t})`;
      }
      case 'neg':
        return `(-${this.val(e.operand)})`;
      case 'binary': {
        const op = e.op in COMPARE ? COMPARE[e.op][0] : e.op;
        return `(${this.val(e.left)} ${op} ${this.val(e.right)})`;
      }
      case 'logic':
        return this.logicValue(e);
      case 'in': {
        const items = constantItems(e.list);
        if (items && !e.value.nullable) {
          if (items.length === 0) return e.negated ? 'true' : 'false';
          const m = this.membership(this.val(e.value), items);
          return e.negated ? `!${m}` : m;
        }
        const call = `H.inList(${this.val(e.value)}, ${this.val(e.list)})`;
        if (!e.negated) return call;
        const t = this.temp();
        return `((${t} = ${call}) === null ? null : !${t})`;
      }
      case 'is-null': {
        const cond = this.nullTest(e.operand);
        return e.negated ? `!${cond}` : cond;
      }
      default:
        return assertNever(e, 'typed expression');
    }
  }

  /** True iff `e` is null. */
  private nullTest(e: TypedExpr): string {
    if (!e.nullable) return 'false';
    const x = this.guarded(e);
    return `!(${x.g.join(' && ')})`;
  }

  /** Three-valued and/or as a value, each side evaluated at most once, the right side only when needed. */
  private logicValue(e: TypedOf<'logic'>): string {
    const a = this.val(e.left);
    const b = this.val(e.right);
    const and = e.op === 'and';
    const [stop, go] = and ? ['false', 'true'] : ['true', 'false'];
    if (!e.left.nullable && !e.right.nullable) return `(${a} ${and ? '&&' : '||'} ${b})`;
    if (!e.left.nullable) return and ? `(${a} ? ${b} : false)` : `(${a} ? true : ${b})`;
    const ta = this.temp();
    if (!e.right.nullable) {
      // a nullable, b not: and → false if either is false, else a (true or null); or → mirror image.
      return and ? `((${ta} = ${a}) === false ? false : (${b} ? ${ta} : false))` : `((${ta} = ${a}) === true ? true : (${b} ? true : ${ta}))`;
    }
    const tb = this.temp();
    return `((${ta} = ${a}) === ${stop} ? ${stop} : (${tb} = ${b}) === ${stop} ? ${stop} : (${ta} === null || ${tb} === null ? null : ${go}))`;
  }

  /** A JS boolean: true iff the condition `e` is true (false and null both give false). */
  isTrue(e: TypedExpr): string {
    if (e.type === 'null') return 'false';
    if (e.type !== 'bool') return 'false';
    if (!e.nullable) return this.val(e);
    switch (e.kind) {
      case 'logic':
        return `(${this.isTrue(e.left)} ${e.op === 'and' ? '&&' : '||'} ${this.isTrue(e.right)})`;
      case 'not':
        return this.isFalse(e.operand);
      case 'binary':
        if (isComparison(e)) return this.comparison(e, false);
        break;
      case 'in':
        if (constantItems(e.list)?.length) return this.constantIn(e, e.negated);
        break;
      default:
        break;
    }
    return `(${this.val(e)} === true)`;
  }

  /** A JS boolean: true iff the condition `e` is false (not null). */
  isFalse(e: TypedExpr): string {
    if (e.type === 'null' || e.type !== 'bool') return 'false';
    if (!e.nullable) return `!${this.val(e)}`;
    switch (e.kind) {
      case 'logic':
        return `(${this.isFalse(e.left)} ${e.op === 'and' ? '||' : '&&'} ${this.isFalse(e.right)})`;
      case 'not':
        return this.isTrue(e.operand);
      case 'binary':
        if (isComparison(e)) return this.comparison(e, true);
        break;
      case 'in':
        if (constantItems(e.list)?.length) return this.constantIn(e, !e.negated);
        break;
      default:
        break;
    }
    return `(${this.val(e)} === false)`;
  }

  private comparison(e: TypedOf<'binary'>, inverse: boolean): string {
    const l = this.guarded(e.left);
    const r = this.guarded(e.right);
    const op = COMPARE[e.op][inverse ? 1 : 0];
    return `(${[...l.g, ...r.g, `${l.v} ${op} ${r.v}`].join(' && ')})`;
  }

  /** `value in [constants]` is true (negate=false) / false (negate=true), null value giving false. */
  private constantIn(e: TypedOf<'in'>, negate: boolean): string {
    const x = this.guarded(e.value);
    const m = this.membership(x.v, constantItems(e.list) as (number | string | boolean)[]);
    return `(${[...x.g, negate ? `!${m}` : m].join(' && ')})`;
  }
}

export interface JsProgram {
  evaluate(env: unknown): unknown;
  test(env: unknown): boolean;
  /** The generated bodies, for debugging and the security tests. */
  source: { evaluate: string; test: string };
}

type Factory = (K: unknown[], H: typeof runtime) => { evaluate(env: unknown): unknown; test(env: unknown): boolean };

/** Generates `evaluate` and `test` for an expression over EvalEnv. `inputs` gives each input its index. */
export function generateJs(typed: TypedExpr, inputs: readonly InputRef[]): JsProgram {
  const index = new Map(inputs.map((input, i) => [input.key, i]));
  const consts: unknown[] = [];
  const evalGen = new JsGen(consts, index, 'env');
  const evalExpr = evalGen.val(typed);
  const testGen = new JsGen(consts, index, 'env');
  const testExpr = typed.type === 'bool' ? testGen.isTrue(typed) : 'false';
  const evaluate = `${evalGen.prologue()}return ${evalExpr};`;
  const test = `${testGen.prologue()}return ${testExpr};`;
  const source = `"use strict";\nreturn {\nevaluate(env) {\n${evaluate}\n},\ntest(env) {\n${test}\n}\n};`;
  const factory = new Function('K', 'H', source) as Factory;
  const fns = factory(consts, runtime);
  return { evaluate: fns.evaluate, test: fns.test, source: { evaluate, test } };
}

/** Compiles an aggregate's `where:` into the EventPredicate its InputSpec carries. */
export function compilePredicate(where: TypedExpr): EventPredicate {
  const consts: unknown[] = [];
  const gen = new JsGen(consts, new Map(), 'filter');
  const body = gen.isTrue(where);
  const source = `"use strict";\nreturn function test(p) {\n${gen.prologue()}return ${body};\n};`;
  const test = (new Function('K', 'H', source) as (K: unknown[], H: typeof runtime) => EventPredicate['test'])(consts, runtime);
  return { canonical: canonicalText(where), props: filterProps(where), test };
}

function filterProps(e: TypedExpr): string[] {
  const out = new Set<string>();
  const walk = (x: TypedExpr): void => {
    switch (x.kind) {
      case 'filter-prop':
        out.add(x.name);
        return;
      case 'list':
        x.items.forEach(walk);
        return;
      case 'call':
        x.args.forEach(walk);
        return;
      case 'not':
      case 'neg':
      case 'is-null':
        walk(x.operand);
        return;
      case 'binary':
      case 'logic':
        walk(x.left);
        walk(x.right);
        return;
      case 'in':
        walk(x.value);
        walk(x.list);
        return;
      default:
        return;
    }
  };
  walk(e);
  return [...out].sort();
}
