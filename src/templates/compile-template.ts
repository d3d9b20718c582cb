// Parsing and compiling one Handlebars text, at load, in a private environment.
//
// - A private `Handlebars.create()` environment: nothing here reads or writes the global instance's helpers or
//   partials. Helpers are passed per render (helpers.ts), so the environment itself is never mutated either.
// - `strict: true` (a missing key throws instead of printing nothing) and `knownHelpersOnly: true` (a call to a
//   helper outside the registry is a compile error), `lookup` and `log` switched off.
// - Compiled now, not on first render: `Handlebars.compile` defers its work to the first call, so this file
//   runs the same two compiler passes itself (the ones `compile` runs lazily) on the AST already parsed once.
// - Jison parse errors are plain `Error`s with the position only inside the message text; the position is read
//   from the parser's lexer right after the failed (synchronous) parse, which is what jison itself reports.
import Handlebars from 'handlebars';
import type { SpanDiagnostic } from '../diagnostics/diagnostic.js';
import { TEMPLATE_CODE } from './codes.js';
import { HELPER_NAMES } from './helpers.js';
import { TemplateOffsets } from './template-offsets.js';

export type TemplateAst = hbs.AST.Program;

/** html: values are HTML-escaped (email html); none: printed as they are (subject, text, push, SMS, webhook). */
export type EscapeMode = 'html' | 'none';

export type RuntimeHelpers = Record<string, (...args: unknown[]) => unknown>;

export interface CompiledHandlebars {
  source: string;
  ast: TemplateAst;
  escape: EscapeMode;
  render(data: unknown, helpers: RuntimeHelpers): string;
}

export interface ParseTemplateResult {
  ast?: TemplateAst;
  diagnostics: SpanDiagnostic[];
}

export interface CompileTemplateResult {
  template?: CompiledHandlebars;
  diagnostics: SpanDiagnostic[];
}

const env = Handlebars.create();

// The compiler passes `Handlebars.compile` runs on first use; present on every environment but not in the types.
interface CompilerPasses {
  Compiler: new () => { compile(ast: TemplateAst, options: object): unknown };
  JavaScriptCompiler: new () => { compile(environment: unknown, options: object, context: undefined, asObject: true): unknown };
  template(spec: unknown): HandlebarsTemplateDelegate;
  Parser: { lexer?: { yylloc?: JisonLoc; match?: string } };
}

interface JisonLoc {
  first_line: number;
  first_column: number;
  last_line: number;
  last_column: number;
}

const passes = env as unknown as CompilerPasses;

function compileOptions(escape: EscapeMode): object {
  const knownHelpers: Record<string, boolean> = { lookup: false, log: false };
  for (const name of HELPER_NAMES) knownHelpers[name] = true;
  return { data: true, strict: true, knownHelpersOnly: true, knownHelpers, noEscape: escape === 'none' };
}

export function parseTemplate(source: string): ParseTemplateResult {
  try {
    return { ast: env.parse(source), diagnostics: [] };
  } catch (e) {
    return { diagnostics: [parseErrorDiagnostic(e, source)] };
  }
}

/** Parse and compile one text. Variables are not checked here (check-variables.ts does that against the model). */
export function compileTemplate(source: string, escape: EscapeMode): CompileTemplateResult {
  const parsed = parseTemplate(source);
  if (!parsed.ast) return { diagnostics: parsed.diagnostics };
  return compileAst(parsed.ast, source, escape);
}

/** Compile an AST from `parseTemplate(source)`. */
export function compileAst(ast: TemplateAst, source: string, escape: EscapeMode): CompileTemplateResult {
  let delegate: HandlebarsTemplateDelegate;
  try {
    const options = compileOptions(escape);
    const environment = new passes.Compiler().compile(ast, options);
    const spec = new passes.JavaScriptCompiler().compile(environment, options, undefined, true);
    delegate = passes.template(spec);
  } catch (e) {
    return { diagnostics: [exceptionDiagnostic(e, source)] };
  }
  const runtimeOptions = { allowCallsToHelperMissing: false, allowProtoPropertiesByDefault: false, allowProtoMethodsByDefault: false };
  return {
    template: {
      source,
      ast,
      escape,
      render: (data, helpers) => delegate(data, { ...runtimeOptions, helpers }),
    },
    diagnostics: [],
  };
}

// ---- errors → diagnostics -------------------------------------------------------------------------------------

const TOKEN_TEXT: Record<string, string> = {
  CLOSE: "'}}'",
  CLOSE_UNESCAPED: "'}}}'",
  CLOSE_RAW_BLOCK: "'}}}}'",
  OPEN_SEXPR: "'('",
  CLOSE_SEXPR: "')'",
  OPEN_BLOCK_PARAMS: "'as |'",
  CLOSE_BLOCK_PARAMS: "'|'",
  ID: 'a name',
  STRING: 'a string',
  NUMBER: 'a number',
  BOOLEAN: 'true or false',
  UNDEFINED: 'undefined',
  NULL: 'null',
  DATA: "'@name'",
  SEP: "'.'",
  EQUALS: "'='",
  EOF: 'the end of the template',
  INVERSE: "'{{else}}'",
  OPEN_INVERSE_CHAIN: "'{{else …}}'",
  OPEN_ENDBLOCK: "'{{/…}}'",
  OPEN: "'{{'",
  OPEN_BLOCK: "'{{#'",
  OPEN_UNESCAPED: "'{{{'",
  OPEN_PARTIAL: "'{{>'",
  CONTENT: 'text',
};

function tokenText(token: string): string {
  return TOKEN_TEXT[token] ?? token.toLowerCase();
}

function parseErrorDiagnostic(e: unknown, source: string): SpanDiagnostic {
  if (e instanceof Handlebars.Exception || hasHandlebarsLoc(e)) return exceptionDiagnostic(e, source);
  const offsets = new TemplateOffsets(source);
  const message = e instanceof Error ? e.message : String(e);
  const lexer = passes.Parser.lexer;
  const loc = lexer?.yylloc;
  const lineMatch = /on line (\d+)/.exec(message);
  const start = loc
    ? offsets.offset({ line: loc.first_line, column: loc.first_column })
    : offsets.offset({ line: lineMatch ? Number(lineMatch[1]) : 1, column: 0 });
  const end = loc ? Math.max(start, offsets.offset({ line: loc.last_line, column: loc.last_column })) : start;
  const span = { start, end: end > start ? end : Math.min(start + 1, source.length) };

  const expecting = /Expecting (.*), got '([A-Z_]+)'/.exec(message);
  if (expecting) {
    const expected = [...expecting[1].matchAll(/'([A-Z_]+)'/g)].map((m) => m[1]);
    const got = expecting[2];
    const gotText = got === 'INVALID' || got === 'EOF' || !lexer?.match ? tokenText(got) : `'${lexer.match}'`;
    if (got === 'EOF' && expected.includes('OPEN_ENDBLOCK')) {
      return {
        code: TEMPLATE_CODE.syntaxError,
        severity: 'error',
        message: 'syntax error: a block is not closed before the end of the template',
        span,
        hint: 'close each {{#name …}} with {{/name}}',
      };
    }
    return {
      code: TEMPLATE_CODE.syntaxError,
      severity: 'error',
      message: `syntax error: unexpected ${got === 'INVALID' ? `'${source.slice(span.start, span.end)}'` : gotText}`,
      span,
      hint: `expected ${expected.slice(0, 6).map(tokenText).join(', ')}${expected.length > 6 ? ', …' : ''}`,
    };
  }
  if (/Lexical error/.test(message)) {
    return { code: TEMPLATE_CODE.syntaxError, severity: 'error', message: 'syntax error: unrecognised text (an unterminated comment or string?)', span };
  }
  return { code: TEMPLATE_CODE.syntaxError, severity: 'error', message: `syntax error: ${message.split('\n')[0]}`, span };
}

interface HandlebarsLoc {
  lineNumber?: number;
  column?: number;
  endLineNumber?: number;
  endColumn?: number;
  message: string;
}

function hasHandlebarsLoc(e: unknown): e is HandlebarsLoc {
  return typeof e === 'object' && e !== null && typeof (e as HandlebarsLoc).lineNumber === 'number';
}

/** A Handlebars Exception (bad block close, invalid path, unknown helper at compile) with its node location. */
function exceptionDiagnostic(e: unknown, source: string): SpanDiagnostic {
  const offsets = new TemplateOffsets(source);
  const raw = e instanceof Error ? e.message : String(e);
  const message = raw.replace(/ - \d+:\d+$/, '');
  let span = { start: 0, end: source.length };
  if (hasHandlebarsLoc(e) && typeof e.lineNumber === 'number') {
    const start = offsets.offset({ line: e.lineNumber, column: e.column ?? 0 });
    const end = typeof e.endLineNumber === 'number' ? offsets.offset({ line: e.endLineNumber, column: e.endColumn ?? 0 }) : start;
    span = { start, end: Math.max(start, end) };
  }
  const mismatch = /^(\S+) doesn't match (\S+)$/.exec(message);
  if (mismatch) {
    return {
      code: TEMPLATE_CODE.syntaxError,
      severity: 'error',
      message: `syntax error: {{#${mismatch[1]}}} is closed by {{/${mismatch[2]}}}`,
      span,
      hint: `close it with {{/${mismatch[1]}}}`,
    };
  }
  const unknownHelper = /unknown helper (\S+)/.exec(message);
  if (unknownHelper) {
    return { code: TEMPLATE_CODE.unknownHelper, severity: 'error', message: `unknown helper '${unknownHelper[1]}'`, span };
  }
  return { code: TEMPLATE_CODE.syntaxError, severity: 'error', message: `syntax error: ${message}`, span };
}
