import { describe, expect, it } from 'vitest';
import type { Expr } from '../../src/expr/ast.js';
import { parseDuration, parseExpression } from '../../src/expr/build-ast.js';

/** The AST as an s-expression, to assert structure (precedence, associativity) compactly. */
function sexpr(e: Expr): string {
  switch (e.kind) {
    case 'number':
    case 'bool':
      return String(e.value);
    case 'string':
      return JSON.stringify(e.value);
    case 'null':
      return 'null';
    case 'duration':
      return `${e.ms}ms`;
    case 'list':
      return `[${e.items.map(sexpr).join(' ')}]`;
    case 'name':
      return e.path.map((p) => p.name).join('.');
    case 'call':
      return `(${e.callee.map((p) => p.name).join('.')}${e.args.map((a) => ` ${a.name ? a.name.name + ':' : ''}${sexpr(a.value)}`).join('')})`;
    case 'unary':
      return `(${e.op} ${sexpr(e.operand)})`;
    case 'binary':
      return `(${e.op} ${sexpr(e.left)} ${sexpr(e.right)})`;
    case 'in':
      return `(${e.negated ? 'not-in' : 'in'} ${sexpr(e.value)} ${sexpr(e.list)})`;
    case 'is-null':
      return `(${e.negated ? 'is-not-null' : 'is-null'} ${sexpr(e.operand)})`;
  }
}

function tree(text: string): string {
  const r = parseExpression(text);
  expect(r.diagnostics).toEqual([]);
  return sexpr(r.ast as Expr);
}

function firstError(text: string) {
  const r = parseExpression(text);
  expect(r.diagnostics.length).toBeGreaterThan(0);
  const d = r.diagnostics[0];
  return { code: d.code, span: [d.span.start, d.span.end], message: d.message, hint: d.hint };
}

describe('precedence and associativity', () => {
  it.each([
    ['a or b and c', '(or a (and b c))'],
    ['a and b or c', '(or (and a b) c)'],
    ['not a and b', '(and (not a) b)'],
    ['not a == b', '(not (== a b))'],
    ['not not a', '(not (not a))'],
    ['a == b and c != d', '(and (== a b) (!= c d))'],
    ['1 + 2 * 3', '(+ 1 (* 2 3))'],
    ['1 - 2 - 3', '(- (- 1 2) 3)'],
    ['8 / 4 / 2', '(/ (/ 8 4) 2)'],
    ['-a * b', '(* (- a) b)'],
    ['- -a', '(- (- a))'],
    ['a + b > c * d', '(> (+ a b) (* c d))'],
    ['(a or b) and c', '(and (or a b) c)'],
    ['x in [1, 2] and y not in ["a"]', '(and (in x [1 2]) (not-in y ["a"]))'],
    ['x + 1 in [2]', '(in (+ x 1) [2])'],
    ['not x in [1]', '(not (in x [1]))'],
    ['x is null or y is not null', '(or (is-null x) (is-not-null y))'],
    ['a.b + 1 is null', '(is-null (+ a.b 1))'],
    ['now - 30d', '(- now 2592000000ms)'],
  ])('%s', (text, expected) => {
    expect(tree(text)).toBe(expected);
  });
});

describe('calls and names', () => {
  it('positional and named arguments', () => {
    expect(tree('count(purchase, within: 365d, where: product_id in ["X","Y"])')).toBe(
      '(count purchase within:31536000000ms where:(in product_id ["X" "Y"]))',
    );
  });
  it('dotted names and dotted calls', () => {
    expect(tree('sum(purchase.amount) + clv.value(365d, 0.1) + rfm.score + profile.x + event.y')).toBe(
      '(+ (+ (+ (+ (sum purchase.amount) (clv.value 31536000000ms 0.1)) rfm.score) profile.x) event.y)',
    );
  });
  it('calls with no arguments', () => {
    expect(tree('f()')).toBe('(f)');
  });
  it('keywords are not names but prefixes of names are', () => {
    expect(tree('order_id == nowhere and island or notes')).toBe('(or (and (== order_id nowhere) island) notes)');
  });
});

describe('literals', () => {
  it.each([
    ['42', '42'],
    ['3.25', '3.25'],
    ['1e3', '1000'],
    ['2.5E-1', '0.25'],
    ['"double"', '"double"'],
    ["'single'", '"single"'],
    ['"a\\"b"', '"a\\"b"'],
    ["'a\\'b'", '"a\'b"'],
    ['"\\\\ \\n \\t \\r \\/"', JSON.stringify('\\ \n \t \r /')],
    ['"\\u00e9\\u{1F600}"', JSON.stringify('é😀')],
    ['true', 'true'],
    ['false', 'false'],
    ['null', 'null'],
    ['[]', '[]'],
    ['[1, "a", null]', '[1 "a" null]'],
  ])('%s', (text, expected) => {
    expect(tree(text)).toBe(expected);
  });

  it.each([
    ['45s', 45_000],
    ['15m', 900_000],
    ['12h', 43_200_000],
    ['30d', 2_592_000_000],
    ['2w', 1_209_600_000],
    ['500ms', 500],
    ['1h30m', 5_400_000],
    ['1w2d3h4m5s6ms', 7 * 86_400_000 + 2 * 86_400_000 + 3 * 3_600_000 + 4 * 60_000 + 5_000 + 6],
  ])('duration %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
    expect(tree(text)).toBe(`${ms}ms`);
  });
});

describe('spans', () => {
  it('every node has the exact span of its text', () => {
    const text = 'count(purchase, within: 365d) >= 5 and (x + 1) * 2 > y';
    const ast = parseExpression(text).ast as Extract<Expr, { kind: 'binary' }>;
    expect(ast.span).toEqual({ start: 0, end: text.length });
    const left = ast.left as Extract<Expr, { kind: 'binary' }>;
    expect(text.slice(left.span.start, left.span.end)).toBe('count(purchase, within: 365d) >= 5');
    expect(text.slice(left.opSpan.start, left.opSpan.end)).toBe('>=');
    const call = left.left as Extract<Expr, { kind: 'call' }>;
    expect(text.slice(call.calleeSpan.start, call.calleeSpan.end)).toBe('count');
    expect(text.slice(call.args[1].span.start, call.args[1].span.end)).toBe('within: 365d');
    expect(text.slice(call.args[1].value.span.start, call.args[1].value.span.end)).toBe('365d');
    const right = ast.right as Extract<Expr, { kind: 'binary' }>;
    const product = right.left as Extract<Expr, { kind: 'binary' }>;
    // A parenthesised operand's span includes its parentheses.
    expect(text.slice(product.left.span.start, product.left.span.end)).toBe('(x + 1)');
    expect(text.slice(product.span.start, product.span.end)).toBe('(x + 1) * 2');
  });

  it('spans of unary, in and is null cover their keywords', () => {
    const text = 'not -x in [1] or y is not null';
    const ast = parseExpression(text).ast as Extract<Expr, { kind: 'binary' }>;
    expect(text.slice(ast.left.span.start, ast.left.span.end)).toBe('not -x in [1]');
    expect(text.slice(ast.right.span.start, ast.right.span.end)).toBe('y is not null');
  });
});

describe('syntax errors', () => {
  it('a missing operand at the end points at the end of the text', () => {
    const text = 'count(purchase, within: 365d) >= ';
    const e = firstError(text);
    expect(e.code).toBe('HER2001');
    expect(e.span).toEqual([text.trimEnd().length, text.trimEnd().length]);
    expect(e.message).toMatch(/end of the expression/);
  });

  it('an unclosed call points at the end', () => {
    expect(firstError('count(purchase')).toMatchObject({ code: 'HER2001', span: [14, 14] });
  });

  it('an unexpected token has its own span', () => {
    expect(firstError('x > > 3')).toMatchObject({ code: 'HER2001', span: [4, 5] });
    expect(firstError('x 3')).toMatchObject({ code: 'HER2001', span: [2, 3] });
    expect(firstError('f(a,)')).toMatchObject({ code: 'HER2001', span: [4, 5] });
  });

  it('comparisons do not chain', () => {
    expect(firstError('1 < x < 3')).toMatchObject({ code: 'HER2001', span: [6, 7] });
  });

  it('= is reported with a hint and the span of the =', () => {
    expect(firstError('x = 1')).toMatchObject({ code: 'HER2001', span: [2, 3], hint: "use '==' to compare" });
  });

  it('unexpected characters and unterminated strings are lexical errors with spans', () => {
    expect(firstError('x > 3 $ 4')).toMatchObject({ code: 'HER2001', span: [6, 7] });
    expect(firstError('x == "abc')).toMatchObject({ code: 'HER2002', span: [5, 9] });
    expect(firstError("x == 'a\\'")).toMatchObject({ code: 'HER2002', span: [5, 9] });
  });

  it('all lexical errors are reported at once', () => {
    expect(parseExpression('a # b @ c').diagnostics.map((d) => d.span.start)).toEqual([2, 6]);
  });

  it('empty text', () => {
    expect(firstError('   ')).toMatchObject({ code: 'HER2001', span: [0, 0], message: 'empty expression' });
  });

  it('bad literals are reported, all of them, with the rest of the tree still built', () => {
    const r = parseExpression('"\\q" == x and 1.5h > 3mo and 1m1h > 0s');
    expect(r.ast).toBeDefined();
    expect(r.diagnostics.map((d) => [d.code, d.span.start, d.span.end])).toEqual([
      ['HER2002', 1, 3],
      ['HER2003', 14, 18],
      ['HER2003', 21, 24],
      ['HER2003', 29, 33],
    ]);
  });

  it('a number too large for a double', () => {
    expect(firstError('1e999 > 0')).toMatchObject({ code: 'HER2002', span: [0, 5] });
  });
});
