// A tree-walking evaluator of the typed AST: the reference semantics, written as plainly as possible and
// independently of compile-js (no shared helpers), so the property tests and the conformance corpus can
// check the fast generated code against it. Too slow for the plan's hot loop (hence compile-js), fine for
// `herald explain`-style single evaluations.
import { createHash } from 'node:crypto';
import { assertNever } from '../diagnostics/diagnostic.js';
import type { EvalEnv } from './api.js';
import type { InputRef, TypedExpr } from './typed-ast.js';

type Value = unknown;

interface Frame {
  env?: EvalEnv;
  inputIndex: ReadonlyMap<string, number>;
  props?: Readonly<Record<string, unknown>>;
}

/** The value of `e` with SQL null semantics; `inputs` are the expression's inputs in `env.inputs` order. */
export function interpret(e: TypedExpr, env: EvalEnv, inputs: readonly InputRef[]): Value {
  return evaluate(e, { env, inputIndex: new Map(inputs.map((x, i) => [x.key, i])) });
}

/** An aggregate's where: over one event's props; true only when the condition is true. */
export function interpretPredicate(where: TypedExpr, props: Readonly<Record<string, unknown>>): boolean {
  return evaluate(where, { inputIndex: new Map(), props }) === true;
}

function nullish(v: unknown): v is null | undefined {
  return v === null || v === undefined;
}

/** An own property, or null: a missing `constructor` attribute is null, not Object. */
function own(obj: Readonly<Record<string, unknown>> | undefined, name: string): unknown {
  return obj !== undefined && Object.hasOwn(obj, name) ? (obj[name] ?? null) : null;
}

function envOf(f: Frame): EvalEnv {
  if (!f.env) throw new Error('this expression needs an evaluation environment');
  return f.env;
}

function evaluate(e: TypedExpr, f: Frame): Value {
  switch (e.kind) {
    case 'literal':
      return e.value;
    case 'list':
      return e.items.map((i) => evaluate(i, f));
    case 'attribute':
      return own(envOf(f).profile, e.name);
    case 'event-prop':
      return own(envOf(f).event, e.name);
    case 'filter-prop':
      return own(f.props, e.name);
    case 'now':
      return envOf(f).now;
    case 'input': {
      const i = f.inputIndex.get(e.input.key);
      if (i === undefined) throw new Error(`no input ${e.input.key}`);
      return envOf(f).inputs[i] ?? null;
    }
    case 'call':
      return call(e.fn.name, e.args.map((a) => evaluate(a, f)), f);
    case 'segment': {
      const s = envOf(f).segment;
      return s ? s(e.name) === true : false;
    }
    case 'bucket': {
      const env = envOf(f);
      const salt = e.salt ?? env.bucketSeed ?? '';
      const hex = createHash('md5').update(salt + ':' + env.customerId).digest('hex');
      return Number(BigInt('0x' + hex.slice(0, 8)) % BigInt(e.n));
    }
    case 'not': {
      const v = evaluate(e.operand, f);
      return nullish(v) ? null : !v;
    }
    case 'neg': {
      const v = evaluate(e.operand, f);
      return nullish(v) ? null : -(v as number);
    }
    case 'logic': {
      const l = evaluate(e.left, f);
      const r = evaluate(e.right, f);
      if (e.op === 'and') {
        if (l === false || r === false) return false;
        if (nullish(l) || nullish(r)) return null;
        return true;
      }
      if (l === true || r === true) return true;
      if (nullish(l) || nullish(r)) return null;
      return false;
    }
    case 'binary': {
      const l = evaluate(e.left, f);
      const r = evaluate(e.right, f);
      if (nullish(l) || nullish(r)) return null;
      return binary(e.op, l, r);
    }
    case 'in': {
      const v = evaluate(e.value, f);
      const list = evaluate(e.list, f) as unknown[] | null;
      let result: boolean | null;
      if (nullish(list)) result = null;
      else if (list.length === 0) result = false;
      else if (nullish(v)) result = null;
      else if (list.some((x) => x === v)) result = true;
      else if (list.some((x) => nullish(x))) result = null;
      else result = false;
      return result === null ? null : e.negated ? !result : result;
    }
    case 'is-null': {
      const isNull = nullish(evaluate(e.operand, f));
      return e.negated ? !isNull : isNull;
    }
    default:
      return assertNever(e, 'typed expression');
  }
}

function binary(op: string, l: unknown, r: unknown): Value {
  const a = l as number;
  const b = r as number;
  switch (op) {
    case '==':
      return l === r;
    case '!=':
      return l !== r;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return b === 0 ? null : a / b;
    default:
      throw new Error(`unknown operator ${op}`);
  }
}

function call(name: string, args: Value[], f: Frame): Value {
  if (name === 'coalesce') return args.find((a) => !nullish(a)) ?? null;
  if (args.some(nullish)) return null;
  switch (name) {
    case 'days_since':
      return (envOf(f).now - (args[0] as number)) / 86_400_000;
    case 'hours_since':
      return (envOf(f).now - (args[0] as number)) / 3_600_000;
    case 'lower':
      return (args[0] as string).toLowerCase();
    case 'upper':
      return (args[0] as string).toUpperCase();
    case 'length':
      return typeof args[0] === 'string' ? Array.from(args[0]).length : (args[0] as unknown[]).length;
    default:
      throw new Error(`the interpreter does not know function ${name}`);
  }
}
