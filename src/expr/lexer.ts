// Tokens of the expression language (DESIGN §4.2). Keywords use `longer_alt` so `order_id` or `nowhere`
// lex as identifiers. `now`, `profile`, `event`, `rfm`, `ltv` and `clv` are NOT keywords: they are names
// resolved by the checker, so an attribute may still be reached as `profile.now`.
import { createToken, Lexer, type IToken, type TokenType } from 'chevrotain';

export const Whitespace = createToken({ name: 'Whitespace', pattern: /[ \t\r\n]+/, group: Lexer.SKIPPED });

export const Identifier = createToken({ name: 'Identifier', pattern: /[A-Za-z_][A-Za-z0-9_]*/, label: 'a name' });

function keyword(name: string, word: string): TokenType {
  return createToken({ name, pattern: new RegExp(word), longer_alt: Identifier, label: `'${word}'` });
}

export const And = keyword('And', 'and');
export const Or = keyword('Or', 'or');
export const Not = keyword('Not', 'not');
export const In = keyword('In', 'in');
export const Is = keyword('Is', 'is');
export const Null = keyword('Null', 'null');
export const True = keyword('True', 'true');
export const False = keyword('False', 'false');

/** `15m`, `12h`, `30d`, `2w`, `45s`, `500ms`, compound `1h30m`. Unit order is checked when building the AST. */
export const Duration = createToken({
  name: 'Duration',
  pattern: /(?:\d+(?:ms|w|d|h|m|s))+(?![A-Za-z0-9_.])/,
  label: 'a duration',
});
/**
 * A number glued to letters that is not a valid duration (`30x`, `1.5h`, `3mo`): lexed as one token so the
 * user gets "invalid duration" with the units, instead of a confusing "unexpected name" after a number.
 */
export const BadDuration = createToken({
  name: 'BadDuration',
  pattern: /\d+(?:\.\d+)?[A-Za-z_][A-Za-z0-9_.]*/,
  label: 'a duration',
});
export const NumberLiteral = createToken({
  name: 'NumberLiteral',
  // Not followed by a letter, digit or dot, so `1.5h` and `30x` fall through to BadDuration whole.
  pattern: /\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![A-Za-z0-9_.])/,
  label: 'a number',
});
export const StringLiteral = createToken({
  name: 'StringLiteral',
  pattern: /"(?:[^"\\\n\r]|\\.)*"|'(?:[^'\\\n\r]|\\.)*'/,
  label: 'a string',
});
/** An opening quote with no closing one on the same line; reported as a lexical error with its span. */
export const UnterminatedString = createToken({
  name: 'UnterminatedString',
  pattern: /"(?:[^"\\\n\r]|\\.)*|'(?:[^'\\\n\r]|\\.)*/,
  label: 'a string',
});

export const LParen = createToken({ name: 'LParen', pattern: /\(/, label: "'('" });
export const RParen = createToken({ name: 'RParen', pattern: /\)/, label: "')'" });
export const LBracket = createToken({ name: 'LBracket', pattern: /\[/, label: "'['" });
export const RBracket = createToken({ name: 'RBracket', pattern: /]/, label: "']'" });
export const Comma = createToken({ name: 'Comma', pattern: /,/, label: "','" });
export const Colon = createToken({ name: 'Colon', pattern: /:/, label: "':'" });
export const Dot = createToken({ name: 'Dot', pattern: /\./, label: "'.'" });

export const EqEq = createToken({ name: 'EqEq', pattern: /==/, label: "'=='" });
export const NotEq = createToken({ name: 'NotEq', pattern: /!=/, label: "'!='" });
export const LessEq = createToken({ name: 'LessEq', pattern: /<=/, label: "'<='" });
export const GreaterEq = createToken({ name: 'GreaterEq', pattern: />=/, label: "'>='" });
export const Less = createToken({ name: 'Less', pattern: /</, label: "'<'" });
export const Greater = createToken({ name: 'Greater', pattern: />/, label: "'>'" });
/** A lone `=` is a common slip for `==`; lexed so the parser can say so. */
export const SingleEq = createToken({ name: 'SingleEq', pattern: /=/, label: "'='" });

export const Plus = createToken({ name: 'Plus', pattern: /\+/, label: "'+'" });
export const Minus = createToken({ name: 'Minus', pattern: /-/, label: "'-'" });
export const Star = createToken({ name: 'Star', pattern: /\*/, label: "'*'" });
export const Slash = createToken({ name: 'Slash', pattern: /\//, label: "'/'" });

export const ALL_TOKENS: TokenType[] = [
  Whitespace,
  StringLiteral,
  UnterminatedString,
  Duration,
  NumberLiteral,
  BadDuration,
  And,
  Or,
  Not,
  In,
  Is,
  Null,
  True,
  False,
  Identifier,
  LParen,
  RParen,
  LBracket,
  RBracket,
  Comma,
  Colon,
  Dot,
  EqEq,
  NotEq,
  LessEq,
  GreaterEq,
  Less,
  Greater,
  SingleEq,
  Plus,
  Minus,
  Star,
  Slash,
];

export const exprLexer = new Lexer(ALL_TOKENS, {
  positionTracking: 'onlyOffset',
  ensureOptimizations: true,
});

export interface LexError {
  start: number;
  end: number;
  message: string;
}

export interface LexResult {
  tokens: IToken[];
  errors: LexError[];
}

/** Tokenises `text`; unterminated strings and unexpected characters come back as errors with spans. */
export function tokenize(text: string): LexResult {
  const result = exprLexer.tokenize(text);
  const errors: LexError[] = result.errors.map((e) => ({
    start: e.offset,
    end: e.offset + e.length,
    message: `unexpected character ${JSON.stringify(text.slice(e.offset, e.offset + Math.min(e.length, 1)))}`,
  }));
  const tokens: IToken[] = [];
  for (const t of result.tokens) {
    if (t.tokenType === UnterminatedString) {
      errors.push({ start: t.startOffset, end: t.startOffset + t.image.length, message: 'unterminated string' });
    } else {
      tokens.push(t);
    }
  }
  errors.sort((a, b) => a.start - b.start);
  return { tokens, errors };
}
