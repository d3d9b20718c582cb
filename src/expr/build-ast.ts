// CST → AST. A Chevrotain visitor over the pure grammar; literal decoding (string escapes, durations,
// numbers) happens here, and its problems are collected as diagnostics rather than thrown.
import type { CstNode, IToken } from 'chevrotain';
import type { SpanDiagnostic, Span } from '../diagnostics/diagnostic.js';
import type { Arg, BinaryOp, Expr, NamePart } from './ast.js';
import { EXPR_CODE } from './codes.js';
import { exprParser } from './grammar.js';
import { tokenize } from './lexer.js';

type Children = Record<string, (CstNode | IToken)[] | undefined>;

function tokenSpan(t: IToken): Span {
  return { start: t.startOffset, end: t.startOffset + t.image.length };
}

function isToken(x: CstNode | IToken): x is IToken {
  return (x as IToken).image !== undefined;
}

const DURATION_UNITS: readonly [string, number][] = [
  ['w', 7 * 86_400_000],
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
  ['ms', 1],
];

/** Milliseconds of a duration literal, or an error message. Units must appear largest first, once each. */
export function parseDuration(text: string): number | string {
  const re = /(\d+)(ms|w|d|h|m|s)/y;
  let ms = 0;
  let lastRank = -1;
  let pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) return `invalid duration '${text}'`;
    const rank = DURATION_UNITS.findIndex(([u]) => u === m[2]);
    if (rank <= lastRank) return `invalid duration '${text}': units must go from largest to smallest, each once`;
    lastRank = rank;
    ms += Number(m[1]) * DURATION_UNITS[rank][1];
    pos = re.lastIndex;
  }
  if (!Number.isSafeInteger(ms)) return `duration '${text}' is too large`;
  return ms;
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '"': '"',
  "'": "'",
  '\\': '\\',
  '/': '/',
  n: '\n',
  r: '\r',
  t: '\t',
  b: '\b',
  f: '\f',
  '0': '\0',
};

class AstBuilder extends exprParser.getBaseCstVisitorConstructor<void, Expr>() {
  diagnostics: SpanDiagnostic[] = [];

  constructor() {
    super();
    this.validateVisitor();
  }

  private report(code: string, message: string, span: Span, hint?: string): void {
    this.diagnostics.push({ code, severity: 'error', message, span, ...(hint ? { hint } : {}) });
  }

  private node(x: CstNode | IToken | undefined): Expr {
    return this.visit(x as CstNode);
  }

  private nodes(xs: (CstNode | IToken)[] | undefined): Expr[] {
    return (xs ?? []).map((x) => this.node(x));
  }

  /** Left-associative chain of `operands` joined by `ops`. */
  private chain(ctx: Children, map: (t: IToken) => BinaryOp): Expr {
    const operands = this.nodes(ctx.operands);
    const ops = (ctx.ops ?? []) as IToken[];
    let left = operands[0];
    for (let i = 0; i < ops.length; i++) {
      const right = operands[i + 1];
      left = {
        kind: 'binary',
        op: map(ops[i]),
        left,
        right,
        opSpan: tokenSpan(ops[i]),
        span: { start: left.span.start, end: right.span.end },
      };
    }
    return left;
  }

  expression(ctx: Children): Expr {
    return this.node(ctx.orExpr?.[0]);
  }

  orExpr(ctx: Children): Expr {
    return this.chain(ctx, () => 'or');
  }

  andExpr(ctx: Children): Expr {
    return this.chain(ctx, () => 'and');
  }

  notExpr(ctx: Children): Expr {
    if (ctx.Not) {
      const not = ctx.Not[0] as IToken;
      const operand = this.node(ctx.notExpr?.[0]);
      return { kind: 'unary', op: 'not', operand, span: { start: not.startOffset, end: operand.span.end } };
    }
    return this.node(ctx.comparison?.[0]);
  }

  comparison(ctx: Children): Expr {
    const left = this.node(ctx.left?.[0]);
    if (ctx.op) {
      const op = ctx.op[0] as IToken;
      const right = this.node(ctx.right?.[0]);
      let image = op.image as BinaryOp | '=';
      if (image === '=') {
        this.report(EXPR_CODE.syntaxError, "'=' is not an operator", tokenSpan(op), "use '==' to compare");
        image = '==';
      }
      return { kind: 'binary', op: image, left, right, opSpan: tokenSpan(op), span: { start: left.span.start, end: right.span.end } };
    }
    if (ctx.In) {
      const list = this.node(ctx.list?.[0]);
      return { kind: 'in', negated: ctx.notIn !== undefined, value: left, list, span: { start: left.span.start, end: list.span.end } };
    }
    if (ctx.Is) {
      const nul = ctx.Null?.[0] as IToken;
      return { kind: 'is-null', negated: ctx.isNot !== undefined, operand: left, span: { start: left.span.start, end: tokenSpan(nul).end } };
    }
    return left;
  }

  additive(ctx: Children): Expr {
    return this.chain(ctx, (t) => t.image as BinaryOp);
  }

  multiplicative(ctx: Children): Expr {
    return this.chain(ctx, (t) => t.image as BinaryOp);
  }

  unary(ctx: Children): Expr {
    if (ctx.Minus) {
      const minus = ctx.Minus[0] as IToken;
      const operand = this.node(ctx.unary?.[0]);
      return { kind: 'unary', op: '-', operand, span: { start: minus.startOffset, end: operand.span.end } };
    }
    return this.node(ctx.primary?.[0]);
  }

  primary(ctx: Children): Expr {
    const [key, elems] = Object.entries(ctx).find(([, v]) => v !== undefined && v.length > 0) as [string, (CstNode | IToken)[]];
    const first = elems[0];
    if (!isToken(first)) return this.node(first);
    const span = tokenSpan(first);
    switch (key) {
      case 'NumberLiteral': {
        const value = Number(first.image);
        if (!Number.isFinite(value)) this.report(EXPR_CODE.invalidLiteral, `number '${first.image}' is out of range`, span);
        return { kind: 'number', value: Number.isFinite(value) ? value : 0, span };
      }
      case 'StringLiteral':
        return { kind: 'string', value: this.decodeString(first.image, span.start), span };
      case 'Duration':
      case 'BadDuration': {
        const ms = key === 'Duration' ? parseDuration(first.image) : `invalid duration '${first.image}'`;
        if (typeof ms === 'string') {
          this.report(EXPR_CODE.invalidDuration, ms, span, 'durations are an integer and a unit (w, d, h, m, s, ms), e.g. 30d or 1h30m; months and years vary in length, so write 30d or 365d');
          return { kind: 'duration', ms: undefined, text: first.image, span };
        }
        return { kind: 'duration', ms, text: first.image, span };
      }
      case 'True':
        return { kind: 'bool', value: true, span };
      case 'False':
        return { kind: 'bool', value: false, span };
      case 'Null':
        return { kind: 'null', span };
      default:
        throw new Error(`unexpected primary token ${key}`);
    }
  }

  list(ctx: Children): Expr {
    const open = ctx.LBracket?.[0] as IToken;
    const close = ctx.RBracket?.[0] as IToken;
    return { kind: 'list', items: this.nodes(ctx.items), span: { start: open.startOffset, end: tokenSpan(close).end } };
  }

  parenthesised(ctx: Children): Expr {
    const open = ctx.LParen?.[0] as IToken;
    const close = ctx.RParen?.[0] as IToken;
    const inner = this.node(ctx.expression?.[0]);
    return { ...inner, span: { start: open.startOffset, end: tokenSpan(close).end } };
  }

  nameOrCall(ctx: Children): Expr {
    const path: NamePart[] = ((ctx.parts ?? []) as IToken[]).map((t) => ({ name: t.image, span: tokenSpan(t) }));
    const nameSpan = { start: path[0].span.start, end: path[path.length - 1].span.end };
    if (!ctx.LParen) return { kind: 'name', path, span: nameSpan };
    const close = ctx.RParen?.[0] as IToken;
    const args = ((ctx.args ?? []) as CstNode[]).map((a) => this.argumentOf(a));
    return { kind: 'call', callee: path, calleeSpan: nameSpan, args, span: { start: nameSpan.start, end: tokenSpan(close).end } };
  }

  private argumentOf(node: CstNode): Arg {
    const c = node.children as Children;
    const value = this.node(c.value?.[0]);
    const nameTok = c.argName?.[0] as IToken | undefined;
    if (!nameTok) return { value, span: value.span };
    const name = { name: nameTok.image, span: tokenSpan(nameTok) };
    return { name, value, span: { start: name.span.start, end: value.span.end } };
  }

  argument(): Expr {
    throw new Error('argument is built by nameOrCall');
  }

  /** Decodes a quoted literal; `offset` is the literal's start, so bad escapes get exact spans. */
  private decodeString(image: string, offset: number): string {
    let out = '';
    const body = image.slice(1, -1);
    for (let i = 0; i < body.length; i++) {
      const ch = body[i];
      if (ch !== '\\') {
        out += ch;
        continue;
      }
      const next = body[i + 1];
      const escStart = offset + 1 + i;
      if (next in SIMPLE_ESCAPES) {
        out += SIMPLE_ESCAPES[next];
        i++;
      } else if (next === 'u') {
        const m = /^u(?:\{([0-9a-fA-F]{1,6})\}|([0-9a-fA-F]{4}))/.exec(body.slice(i + 1));
        const code = m ? parseInt(m[1] ?? m[2], 16) : NaN;
        if (!m || code > 0x10ffff) {
          this.report(EXPR_CODE.invalidLiteral, 'invalid unicode escape', { start: escStart, end: escStart + 2 }, 'write \\uXXXX or \\u{X…}');
          i++;
        } else {
          out += String.fromCodePoint(code);
          i += m[0].length;
        }
      } else {
        this.report(EXPR_CODE.invalidLiteral, `invalid escape '\\${next}'`, { start: escStart, end: escStart + 2 }, 'escapes: \\" \\\' \\\\ \\n \\t \\r \\uXXXX');
        out += next;
        i++;
      }
    }
    return out;
  }
}

const builder = new AstBuilder();

export interface ParseResult {
  ast?: Expr;
  diagnostics: SpanDiagnostic[];
}

/**
 * Lexes, parses and builds the AST. Reports every lexical error, else the first syntax error (the parser
 * stops there), plus literal problems found while building. `ast` is absent when the text does not parse.
 */
export function parseExpression(text: string): ParseResult {
  const lexed = tokenize(text);
  if (lexed.errors.length > 0) {
    return {
      diagnostics: lexed.errors.map((e) => ({
        code: e.message === 'unterminated string' ? EXPR_CODE.invalidLiteral : EXPR_CODE.syntaxError,
        severity: 'error' as const,
        message: e.message,
        span: { start: e.start, end: e.end },
      })),
    };
  }
  if (lexed.tokens.length === 0) {
    const at = text.trimEnd().length;
    return { diagnostics: [{ code: EXPR_CODE.syntaxError, severity: 'error', message: 'empty expression', span: { start: at, end: at } }] };
  }
  exprParser.input = lexed.tokens;
  const cst = exprParser.expression();
  if (exprParser.errors.length > 0) {
    // An error at EOF has no offset; point just past the last non-blank character, where the missing part goes.
    const end = text.trimEnd().length;
    return {
      diagnostics: exprParser.errors.map((e) => {
        const t = e.token;
        const span = Number.isFinite(t.startOffset) && t.image !== '' ? tokenSpan(t) : { start: end, end };
        return { code: EXPR_CODE.syntaxError, severity: 'error' as const, message: e.message, span };
      }),
    };
  }
  builder.diagnostics = [];
  const ast = builder.visit(cst);
  const diagnostics = builder.diagnostics;
  builder.diagnostics = [];
  return { ast, diagnostics };
}
