// The grammar, as a pure Chevrotain CstParser: it only recognises and builds a CST; build-ast.ts turns the
// CST into the AST. One instance is reused for every expression (Chevrotain's recommended pattern: the
// self-analysis in the constructor is the expensive part).
//
// Precedence, loosest first: or < and < not < comparison / in / is < additive < multiplicative < unary.
// Comparisons do not chain (`a < b < c` is a syntax error, as in PostgreSQL).
import { CstParser, EOF, type IParserErrorMessageProvider, type IToken, type TokenType } from 'chevrotain';
import {
  ALL_TOKENS,
  And,
  BadDuration,
  Colon,
  Comma,
  Dot,
  Duration,
  EqEq,
  False,
  Greater,
  GreaterEq,
  Identifier,
  In,
  Is,
  LBracket,
  Less,
  LessEq,
  LParen,
  Minus,
  Not,
  NotEq,
  Null,
  NumberLiteral,
  Or,
  Plus,
  RBracket,
  RParen,
  SingleEq,
  Slash,
  Star,
  StringLiteral,
  True,
} from './lexer.js';

function describe(token: IToken): string {
  return token.tokenType === EOF ? 'the end of the expression' : `'${token.image}'`;
}

function labelOf(t: TokenType): string {
  return t.LABEL ?? t.name;
}

/** Short messages: the span already shows where; the message says what was expected. */
const messages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, actual }) {
    return `expected ${labelOf(expected)} but found ${describe(actual)}`;
  },
  buildNotAllInputParsedMessage({ firstRedundant }) {
    return `unexpected ${describe(firstRedundant)}; expected an operator or the end of the expression`;
  },
  buildNoViableAltMessage({ actual, ruleName }) {
    const found = actual[0] ? describe(actual[0]) : 'the end of the expression';
    return ruleName === 'primary' || ruleName === 'unary' || ruleName === 'notExpr' || ruleName === 'argument'
      ? `expected a value but found ${found}`
      : `unexpected ${found}`;
  },
  buildEarlyExitMessage({ actual }) {
    const found = actual[0] ? describe(actual[0]) : 'the end of the expression';
    return `unexpected ${found}`;
  },
};

// Every closure the rules pass to OR / MANY / OPTION is created once, as a field, not on each call: the
// allocation is measurable (Chevrotain's "caching arrays of alternatives" advice), and under tsx each
// fresh arrow also costs a keepNames Object.defineProperty — half the parse time before this was done.
export class ExprParser extends CstParser {
  constructor() {
    super(ALL_TOKENS, { errorMessageProvider: messages, maxLookahead: 2 });
    this.performSelfAnalysis();
  }

  private readonly orTail = (): void => {
    this.CONSUME(Or, { LABEL: 'ops' });
    this.SUBRULE2(this.andExpr, { LABEL: 'operands' });
  };

  private readonly andTail = (): void => {
    this.CONSUME(And, { LABEL: 'ops' });
    this.SUBRULE2(this.notExpr, { LABEL: 'operands' });
  };

  private readonly notAlts = [
    {
      ALT: (): void => {
        this.CONSUME(Not);
        this.SUBRULE(this.notExpr);
      },
    },
    { ALT: (): void => void this.SUBRULE(this.comparison) },
  ];

  private readonly compareOps = [EqEq, NotEq, LessEq, GreaterEq, Less, Greater, SingleEq].map((t) => ({
    ALT: (): void => void this.CONSUME(t, { LABEL: 'op' }),
  }));

  private readonly notIn = (): void => void this.CONSUME(Not, { LABEL: 'notIn' });
  private readonly isNot = (): void => void this.CONSUME2(Not, { LABEL: 'isNot' });

  private readonly comparisonAlts = [
    {
      ALT: (): void => {
        this.OR2(this.compareOps);
        this.SUBRULE2(this.additive, { LABEL: 'right' });
      },
    },
    {
      ALT: (): void => {
        this.OPTION2(this.notIn);
        this.CONSUME(In);
        this.SUBRULE3(this.additive, { LABEL: 'list' });
      },
    },
    {
      ALT: (): void => {
        this.CONSUME(Is);
        this.OPTION3(this.isNot);
        this.CONSUME(Null);
      },
    },
  ];

  private readonly comparisonTail = (): void => void this.OR(this.comparisonAlts);

  private readonly additiveOps = [
    { ALT: (): void => void this.CONSUME(Plus, { LABEL: 'ops' }) },
    { ALT: (): void => void this.CONSUME(Minus, { LABEL: 'ops' }) },
  ];

  private readonly additiveTail = (): void => {
    this.OR(this.additiveOps);
    this.SUBRULE2(this.multiplicative, { LABEL: 'operands' });
  };

  private readonly multiplicativeOps = [
    { ALT: (): void => void this.CONSUME(Star, { LABEL: 'ops' }) },
    { ALT: (): void => void this.CONSUME(Slash, { LABEL: 'ops' }) },
  ];

  private readonly multiplicativeTail = (): void => {
    this.OR(this.multiplicativeOps);
    this.SUBRULE2(this.unary, { LABEL: 'operands' });
  };

  private readonly unaryAlts = [
    {
      ALT: (): void => {
        this.CONSUME(Minus);
        this.SUBRULE(this.unary);
      },
    },
    { ALT: (): void => void this.SUBRULE(this.primary) },
  ];

  private readonly primaryAlts = [
    { ALT: (): void => void this.CONSUME(NumberLiteral) },
    { ALT: (): void => void this.CONSUME(StringLiteral) },
    { ALT: (): void => void this.CONSUME(Duration) },
    { ALT: (): void => void this.CONSUME(BadDuration) },
    { ALT: (): void => void this.CONSUME(True) },
    { ALT: (): void => void this.CONSUME(False) },
    { ALT: (): void => void this.CONSUME(Null) },
    { ALT: (): void => void this.SUBRULE(this.list) },
    { ALT: (): void => void this.SUBRULE(this.parenthesised) },
    { ALT: (): void => void this.SUBRULE(this.nameOrCall) },
  ];

  private readonly listItems = {
    SEP: Comma,
    DEF: (): void => void this.SUBRULE(this.expression, { LABEL: 'items' }),
  };

  private readonly namePart = (): void => {
    this.CONSUME(Dot);
    this.CONSUME2(Identifier, { LABEL: 'parts' });
  };

  private readonly callArgs = {
    SEP: Comma,
    DEF: (): void => void this.SUBRULE(this.argument, { LABEL: 'args' }),
  };

  private readonly callSuffix = (): void => {
    this.CONSUME(LParen);
    this.MANY_SEP(this.callArgs);
    this.CONSUME(RParen);
  };

  private readonly argumentAlts = [
    {
      ALT: (): void => {
        this.CONSUME(Identifier, { LABEL: 'argName' });
        this.CONSUME(Colon);
        this.SUBRULE(this.expression, { LABEL: 'value' });
      },
    },
    { ALT: (): void => void this.SUBRULE2(this.expression, { LABEL: 'value' }) },
  ];

  expression = this.RULE('expression', () => {
    this.SUBRULE(this.orExpr);
  });

  orExpr = this.RULE('orExpr', () => {
    this.SUBRULE(this.andExpr, { LABEL: 'operands' });
    this.MANY(this.orTail);
  });

  andExpr = this.RULE('andExpr', () => {
    this.SUBRULE(this.notExpr, { LABEL: 'operands' });
    this.MANY(this.andTail);
  });

  notExpr = this.RULE('notExpr', () => {
    this.OR(this.notAlts);
  });

  comparison = this.RULE('comparison', () => {
    this.SUBRULE(this.additive, { LABEL: 'left' });
    this.OPTION(this.comparisonTail);
  });

  additive = this.RULE('additive', () => {
    this.SUBRULE(this.multiplicative, { LABEL: 'operands' });
    this.MANY(this.additiveTail);
  });

  multiplicative = this.RULE('multiplicative', () => {
    this.SUBRULE(this.unary, { LABEL: 'operands' });
    this.MANY(this.multiplicativeTail);
  });

  unary = this.RULE('unary', () => {
    this.OR(this.unaryAlts);
  });

  primary = this.RULE('primary', () => {
    this.OR(this.primaryAlts);
  });

  list = this.RULE('list', () => {
    this.CONSUME(LBracket);
    this.MANY_SEP(this.listItems);
    this.CONSUME(RBracket);
  });

  parenthesised = this.RULE('parenthesised', () => {
    this.CONSUME(LParen);
    this.SUBRULE(this.expression);
    this.CONSUME(RParen);
  });

  nameOrCall = this.RULE('nameOrCall', () => {
    this.CONSUME(Identifier, { LABEL: 'parts' });
    this.MANY(this.namePart);
    this.OPTION(this.callSuffix);
  });

  argument = this.RULE('argument', () => {
    this.OR(this.argumentAlts);
  });
}

/** The one reused parser instance. Not re-entrant: parse one input to completion before the next. */
export const exprParser = new ExprParser();
