// User text must never become code: names are read as P["name"] (JSON string literal), values are
// JSON literals or numbers. These tests feed hostile names and strings through every path that embeds
// text in generated source and check the code still means what it says.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { EvalEnv } from '../../src/expr/api.js';
import { compilePredicate, generateJs } from '../../src/expr/compile-js.js';
import { compileExpression } from '../../src/expr/compile.js';
import type { TypedExpr } from '../../src/expr/typed-ast.js';
import type { DataModel, FieldDef } from '../../src/model/data-model.js';
import { demoModel } from '../support/demo-model.js';

const HOSTILE_NAMES = [
  'x"]);process.exit(1);//',
  "x']);process.exit(1);//",
  'x`;process.exit(1);`',
  'x\\"]);process.exit(1);//',
  'x\u2028process.exit(1)',
  '</script><script>process.exit(1)</script>',
  '__proto__',
  'constructor',
];

const HOSTILE_STRINGS = [
  '"); process.exit(1); ("',
  "'); process.exit(1); ('",
  'back\\slash\\',
  '\\"',
  '</script><script>alert(1)</script>',
  '${process.exit(1)}',
  'line\u2028separator\u2029',
  '\u0000nul',
  '😀',
];

const span = { start: 0, end: 0 };

function env(profile: Record<string, unknown>, extra: Partial<EvalEnv> = {}): EvalEnv {
  return { now: 0, customerId: 'c', profile, inputs: [], ...extra };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('hostile names cannot break out of generated code', () => {
  it.each(HOSTILE_NAMES)('attribute %j', (name) => {
    const exit = vi.spyOn(process, 'exit').mockImplementation(() => undefined as never);
    // Names cannot be written in the language with these characters, so build the typed AST directly: the
    // code generator must be safe on its own, whatever a future syntax (or a model) lets through.
    const attr: TypedExpr = { kind: 'attribute', name, type: 'string', nullable: true, span };
    const typed: TypedExpr = {
      kind: 'binary',
      op: '==',
      left: attr,
      right: { kind: 'literal', value: 'ok', type: 'string', nullable: false, span },
      type: 'bool',
      nullable: true,
      span,
    };
    const program = generateJs(typed, []);
    const profile: Record<string, unknown> = Object.create(null);
    profile[name] = 'ok';
    expect(program.test(env(profile))).toBe(true);
    expect(program.evaluate(env(profile))).toBe(true);
    // A missing attribute is null, even when its name is also a property of Object.prototype.
    expect(program.evaluate(env({}))).toBe(null);
    expect(exit).not.toHaveBeenCalled();
  });

  it.each(HOSTILE_NAMES)('event prop and filter prop %j', (name) => {
    const exit = vi.spyOn(process, 'exit').mockImplementation(() => undefined as never);
    const eventProp: TypedExpr = { kind: 'event-prop', name, type: 'number', nullable: true, span };
    const typed: TypedExpr = { kind: 'is-null', negated: true, operand: eventProp, type: 'bool', nullable: false, span };
    const program = generateJs(typed, []);
    expect(program.test(env({}, { event: { [name]: 1 } }))).toBe(true);
    const pred = compilePredicate({ ...typed, operand: { ...eventProp, kind: 'filter-prop' } });
    expect(pred.test({ [name]: 1 })).toBe(true);
    expect(pred.props).toEqual([name]);
    expect(exit).not.toHaveBeenCalled();
  });

  it('a model attribute with a hostile name compiles and is unreachable from text', () => {
    const name = HOSTILE_NAMES[0];
    const model: DataModel = {
      ...demoModel,
      attributes: new Map<string, FieldDef>([...demoModel.attributes, [name, { name, type: 'string' }]]),
    };
    const r = compileExpression(name + ' == "a"', { model, context: { kind: 'profile' }, segments: new Set() });
    expect(r.expression).toBeUndefined();
    expect(r.diagnostics[0].code).toMatch(/^HER200[1-4]$/);
  });
});

describe('hostile strings are values, never code', () => {
  it.each(HOSTILE_STRINGS)('string literal %j', (value) => {
    const exit = vi.spyOn(process, 'exit').mockImplementation(() => undefined as never);
    const literal = JSON.stringify(value);
    const r = compileExpression(`country == ${literal} or country in [${literal}, "x"]`, {
      model: demoModel,
      context: { kind: 'profile' },
      segments: new Set(),
    });
    expect(r.diagnostics).toEqual([]);
    expect(r.expression?.test(env({ country: value }))).toBe(true);
    expect(r.expression?.test(env({ country: value + '!' }))).toBe(false);
    expect(exit).not.toHaveBeenCalled();
  });

  it.each(HOSTILE_STRINGS)('segment name and bucket salt %j', (value) => {
    const exit = vi.spyOn(process, 'exit').mockImplementation(() => undefined as never);
    const literal = JSON.stringify(value);
    const seen: string[] = [];
    const r = compileExpression(`segment(${literal}) and bucket(3, ${literal}) >= 0`, {
      model: demoModel,
      context: { kind: 'profile' },
      segments: new Set([value]),
    });
    expect(r.diagnostics).toEqual([]);
    expect(r.expression?.test(env({}, { segment: (n) => (seen.push(n), true) }))).toBe(true);
    expect(seen).toEqual([value]);
    expect(exit).not.toHaveBeenCalled();
  });

  it('string literals in single quotes with escapes decode to the same value', () => {
    const r = compileExpression(`country == '\\'); process.exit(1); (\\''`, { model: demoModel, context: { kind: 'profile' }, segments: new Set() });
    expect(r.expression?.test(env({ country: "'); process.exit(1); ('" }))).toBe(true);
  });

  it('generated source holds user strings only inside JSON literals', () => {
    const r = compileExpression('country == "\\"]);globalThis.pwned=1;//"', { model: demoModel, context: { kind: 'profile' }, segments: new Set() });
    r.expression?.test(env({ country: 'x' }));
    expect((globalThis as Record<string, unknown>).pwned).toBeUndefined();
  });
});
