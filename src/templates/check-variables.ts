// Checks every name and helper call of a parsed template against the data model, the way Handlebars will
// resolve it at render: the same rule for "is this a helper call", block params before context lookups,
// `../` counting only the blocks that change the context (#each, #with), and @data names.
//
// Reports are collected (never thrown), each with a code, the span of the offending name and a hint. The walk
// also records what the template reads, so hosts compute only those inputs (like CompiledExpression.inputs).
//
// Longer than ~400 lines on purpose: one walker owns the state Handlebars resolves against (context stack,
// lexical block params, #each depth); split across files, the resolution rules would no longer read as one.
import type { Span, SpanDiagnostic } from '../diagnostics/diagnostic.js';
import type { DataModel } from '../model/data-model.js';
import { TEMPLATE_CODE } from './codes.js';
import type { EscapeMode, TemplateAst } from './compile-template.js';
import { HELPER_NAMES, findHelper, type CheckedArg, type HelperSpec, type ParamKind } from './helpers.js';
import { didYouMean } from './suggest-name.js';
import { RESERVED_ROOT_NAMES, describeType, rootType, scalar, type ObjectType, type ValueType } from './template-data.js';
import { TemplateOffsets } from './template-offsets.js';

export interface CheckTemplateOptions {
  /** The event type that triggers messages from this template; without one, `event.*` is an error. */
  eventType?: string;
  /** html enables the warning on unescaped `{{{…}}}` output. */
  escape: EscapeMode;
}

export type DerivedName = 'ltv' | 'rfm' | 'clv';

/** What a template reads, sorted and deduplicated. */
export interface TemplateUsage {
  attributes: string[];
  eventProps: string[];
  derived: DerivedName[];
  /** `recent` calls: the largest count asked per event type. */
  recent: { event: string; n: number }[];
  unsubscribeUrl: boolean;
  preferencesUrl: boolean;
}

export interface CheckTemplateResult {
  diagnostics: SpanDiagnostic[];
  usage: TemplateUsage;
}

type Node = hbs.AST.Node;
type Expression = hbs.AST.Expression;
type PathExpression = hbs.AST.PathExpression;
type Program = hbs.AST.Program;

const BUILTIN_BLOCKS = new Set(['if', 'unless', 'each', 'with']);
const UNSUPPORTED_HELPERS = new Set(['lookup', 'log']);
const EACH_DATA: ReadonlyMap<string, ValueType> = new Map([
  ['index', scalar('number')],
  ['key', scalar('number')],
  ['first', scalar('bool')],
  ['last', scalar('bool')],
]);

/** Handlebars' own test for a path written relative to the current context (`./x`, `this.x`). */
function isScoped(path: PathExpression): boolean {
  return /^\.|this\b/.test(path.original);
}

function isSimpleName(path: PathExpression): boolean {
  return path.parts.length === 1 && !isScoped(path) && !path.depth && !path.data;
}

export function checkTemplate(ast: TemplateAst, source: string, model: DataModel, options: CheckTemplateOptions): CheckTemplateResult {
  return new TemplateChecker(source, model, options).run(ast);
}

class TemplateChecker {
  private readonly offsets: TemplateOffsets;
  private readonly root: ObjectType;
  private readonly diagnostics: SpanDiagnostic[] = [];
  /** Types of `this`, outermost first; #each and #with push one. */
  private readonly contexts: ValueType[];
  /** Block params in lexical scope, innermost last. */
  private readonly blockParams: Map<string, ValueType>[] = [];
  private eachDepth = 0;

  private readonly attributes = new Set<string>();
  private readonly eventProps = new Set<string>();
  private readonly derived = new Set<DerivedName>();
  private readonly recent = new Map<string, number>();
  private unsubscribeUrl = false;
  private preferencesUrl = false;

  constructor(
    source: string,
    private readonly model: DataModel,
    private readonly options: CheckTemplateOptions,
  ) {
    this.offsets = new TemplateOffsets(source);
    this.root = rootType(model, options.eventType);
    this.contexts = [this.root];
  }

  run(ast: TemplateAst): CheckTemplateResult {
    if (this.options.eventType !== undefined && !this.model.events.has(this.options.eventType)) {
      const hint = didYouMean(this.options.eventType, this.model.events.keys());
      this.report(TEMPLATE_CODE.unknownEventType, `the triggering event type '${this.options.eventType}' is not declared`, { start: 0, end: 0 }, hint);
    }
    this.program(ast);
    return {
      diagnostics: this.diagnostics,
      usage: {
        attributes: [...this.attributes].sort(),
        eventProps: [...this.eventProps].sort(),
        derived: [...this.derived].sort(),
        recent: [...this.recent].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([event, n]) => ({ event, n })),
        unsubscribeUrl: this.unsubscribeUrl,
        preferencesUrl: this.preferencesUrl,
      },
    };
  }

  private report(code: string, message: string, span: Span, hint?: string, severity: 'error' | 'warning' = 'error'): void {
    this.diagnostics.push({ code, severity, message, span, ...(hint ? { hint } : {}) });
  }

  private span(node: Node): Span {
    return this.offsets.span(node.loc);
  }

  // ---- statements ---------------------------------------------------------------------------------------------

  private program(program: Program | undefined): void {
    if (!program) return;
    for (const statement of program.body) this.statement(statement);
  }

  private statement(node: hbs.AST.Statement): void {
    switch (node.type) {
      case 'ContentStatement':
      case 'CommentStatement':
        return;
      case 'MustacheStatement':
        return this.mustache(node as hbs.AST.MustacheStatement);
      case 'BlockStatement':
        return this.block(node as hbs.AST.BlockStatement);
      case 'PartialStatement':
      case 'PartialBlockStatement':
        return this.report(TEMPLATE_CODE.unsupported, 'partials are not supported', this.span(node), 'put shared text in the template itself');
      case 'Decorator':
      case 'DecoratorBlock':
        return this.report(TEMPLATE_CODE.unsupported, 'decorators are not supported', this.span(node));
      default:
        return this.report(TEMPLATE_CODE.unsupported, `unsupported template construct (${node.type})`, this.span(node));
    }
  }

  private mustache(node: hbs.AST.MustacheStatement): void {
    if (!node.escaped && this.options.escape === 'html') {
      this.report(
        TEMPLATE_CODE.unescapedHtml,
        'unescaped output in an HTML body: a value containing markup is inserted as markup',
        this.span(node),
        'use {{…}} so the value is HTML-escaped',
        'warning',
      );
    }
    const path = asPath(node.path);
    const isCall = node.params.length > 0 || node.hash !== undefined || (isSimpleName(path) && this.isKnownCallee(path.parts[0]));
    if (!isCall) {
      const type = this.resolvePath(path);
      if (type) this.requirePrintable(type, path);
      return;
    }
    const name = path.original;
    if (BUILTIN_BLOCKS.has(name)) {
      this.checkArgs(node.params, node.hash);
      this.report(TEMPLATE_CODE.blockMisuse, `'${name}' is a block helper`, this.span(path), `write {{#${name} …}}…{{/${name}}}`);
      return;
    }
    const result = this.helperCall(path, node.params, node.hash, node);
    if (result) this.requirePrintable(result, path);
  }

  private block(node: hbs.AST.BlockStatement): void {
    const path = asPath(node.path);
    const name = path.original;
    switch (name) {
      case 'if':
      case 'unless':
        return this.conditionalBlock(node, name);
      case 'each':
        return this.eachBlock(node);
      case 'with':
        return this.withBlock(node);
    }
    if (isSimpleName(path) && findHelper(name)) {
      this.helperCall(path, node.params, node.hash, node);
      this.report(TEMPLATE_CODE.blockMisuse, `'${name}' is not a block helper`, this.span(path), `write {{${name} …}} without # and {{/${name}}}`);
    } else if (isSimpleName(path) && node.params.length === 0 && this.currentHas(name)) {
      this.report(
        TEMPLATE_CODE.unknownHelper,
        `'${name}' is a variable, not a block helper`,
        this.span(path),
        `write {{#if ${name}}}…{{/if}} to test it, or {{#with ${name}}}…{{/with}} to enter it`,
      );
    } else {
      this.unknownCallee(path);
      this.checkArgs(node.params, node.hash);
    }
    this.program(node.program);
    this.program(node.inverse);
  }

  private conditionalBlock(node: hbs.AST.BlockStatement, name: 'if' | 'unless'): void {
    this.builtinArgs(node, name, new Set(['includeZero']));
    this.noBlockParams(node.program, name);
    this.program(node.program);
    this.program(node.inverse);
  }

  private eachBlock(node: hbs.AST.BlockStatement): void {
    const [type] = this.builtinArgs(node, 'each', new Set());
    let item: ValueType | undefined;
    if (type) {
      if (type.kind === 'list') item = type.item;
      else if (type.kind === 'scalar' && type.type === 'any') item = scalar('any');
      else {
        const param = node.params[0];
        this.report(
          TEMPLATE_CODE.blockMisuse,
          `#each needs a list, and this is ${type.kind === 'object' ? 'an object' : `a ${describeType(type)}`}`,
          param ? this.span(param) : this.span(node),
          type.kind === 'object' ? 'use {{#with …}} to read the fields of one object' : undefined,
        );
      }
    }
    const params = node.program?.blockParams ?? [];
    if (params.length > 2) this.report(TEMPLATE_CODE.blockMisuse, '#each takes at most two block params: as |item index|', this.span(node));
    const scope = new Map<string, ValueType>();
    if (params[0] !== undefined) scope.set(params[0], item ?? scalar('any'));
    if (params[1] !== undefined) scope.set(params[1], scalar('number'));
    this.inContext(item ?? scalar('any'), scope, true, () => this.program(node.program));
    this.program(node.inverse);
  }

  private withBlock(node: hbs.AST.BlockStatement): void {
    const [type] = this.builtinArgs(node, 'with', new Set());
    const params = node.program?.blockParams ?? [];
    if (params.length > 1) this.report(TEMPLATE_CODE.blockMisuse, '#with takes at most one block param: as |value|', this.span(node));
    const scope = new Map<string, ValueType>();
    if (params[0] !== undefined) scope.set(params[0], type ?? scalar('any'));
    this.inContext(type ?? scalar('any'), scope, false, () => this.program(node.program));
    this.program(node.inverse);
  }

  private inContext(type: ValueType, params: Map<string, ValueType>, isEach: boolean, body: () => void): void {
    this.contexts.push(type);
    this.blockParams.push(params);
    if (isEach) this.eachDepth++;
    try {
      body();
    } finally {
      if (isEach) this.eachDepth--;
      this.blockParams.pop();
      this.contexts.pop();
    }
  }

  private noBlockParams(program: Program | undefined, name: string): void {
    if (program?.blockParams?.length) this.report(TEMPLATE_CODE.blockMisuse, `#${name} takes no block params`, this.span(program));
  }

  /** The one argument of #if / #unless / #each / #with, checked; returns its type. */
  private builtinArgs(node: hbs.AST.BlockStatement, name: string, hashKeys: ReadonlySet<string>): (ValueType | undefined)[] {
    const args = node.params.map((p) => this.expression(p).type);
    if (node.params.length !== 1) {
      this.report(TEMPLATE_CODE.wrongArity, `#${name} takes 1 argument, got ${node.params.length}`, this.span(node.path));
    }
    for (const pair of node.hash?.pairs ?? []) {
      this.expression(pair.value);
      if (!hashKeys.has(pair.key)) {
        this.report(TEMPLATE_CODE.invalidArgument, `#${name} has no option '${pair.key}'`, this.span(pair), didYouMean(pair.key, hashKeys));
      }
    }
    return args;
  }

  // ---- helper calls ---------------------------------------------------------------------------------------------

  private isKnownCallee(name: string): boolean {
    return findHelper(name) !== undefined || BUILTIN_BLOCKS.has(name) || UNSUPPORTED_HELPERS.has(name);
  }

  private unknownCallee(path: PathExpression): void {
    const name = path.original;
    if (UNSUPPORTED_HELPERS.has(name)) {
      this.report(TEMPLATE_CODE.unsupported, `the '${name}' helper is not supported`, this.span(path), 'templates read only names the data model declares');
    } else {
      this.report(TEMPLATE_CODE.unknownHelper, `unknown helper '${name}'`, this.span(path), didYouMean(name, HELPER_NAMES));
    }
  }

  private checkArgs(params: Expression[], hash: hbs.AST.Hash | undefined): void {
    for (const p of params) this.expression(p);
    for (const pair of hash?.pairs ?? []) this.expression(pair.value);
  }

  /** A call of a registry helper (or an unknown one); returns the result type, or undefined after an error. */
  private helperCall(path: PathExpression, params: Expression[], hash: hbs.AST.Hash | undefined, node: Node): ValueType | undefined {
    const spec = isSimpleName(path) ? findHelper(path.parts[0]) : undefined;
    if (!spec) {
      if (BUILTIN_BLOCKS.has(path.original)) {
        this.checkArgs(params, hash);
        this.report(TEMPLATE_CODE.blockMisuse, `'${path.original}' is a block helper and cannot be called here`, this.span(path));
        return undefined;
      }
      this.unknownCallee(path);
      this.checkArgs(params, hash);
      return undefined;
    }
    const args: CheckedArg[] = params.map((p) => this.expression(p));
    let ok = this.checkArity(spec, args.length, node);
    spec.params.forEach((param, i) => {
      const arg = args[i];
      if (arg && !this.acceptsArg(spec, param.name, param.kind, arg)) ok = false;
    });
    for (const pair of hash?.pairs ?? []) {
      const arg = this.expression(pair.value);
      const kind = spec.hash?.[pair.key];
      if (kind === undefined) {
        const keys = Object.keys(spec.hash ?? {});
        this.report(
          TEMPLATE_CODE.invalidArgument,
          `${spec.name} has no option '${pair.key}'`,
          this.span(pair),
          didYouMean(pair.key, keys) ?? (keys.length ? `options: ${keys.join(', ')}` : `${spec.name} takes no options`),
        );
        ok = false;
      } else if (!this.acceptsArg(spec, pair.key, kind, arg)) {
        ok = false;
      }
    }
    const reported = this.diagnostics.length;
    const result = spec.check ? spec.check(args, { model: this.model, report: (d) => this.diagnostics.push(d) }) : spec.result;
    if (spec.name === 'recent' && result) this.noteRecent(args);
    return ok && this.diagnostics.length === reported ? result : undefined;
  }

  private noteRecent(args: CheckedArg[]): void {
    const event = args[0]?.literal?.value;
    const n = args[1]?.literal?.value;
    if (typeof event === 'string' && typeof n === 'number') this.recent.set(event, Math.max(n, this.recent.get(event) ?? 0));
  }

  private checkArity(spec: HelperSpec, count: number, node: Node): boolean {
    const max = spec.params.length;
    const min = spec.params.filter((p) => !p.optional).length;
    if (count >= min && count <= max) return true;
    const takes = min === max ? `${min} argument${min === 1 ? '' : 's'}` : `${min} to ${max} arguments`;
    const signature = spec.params.map((p) => (p.optional ? `[${p.name}]` : p.name)).join(' ');
    this.report(TEMPLATE_CODE.wrongArity, `${spec.name} takes ${takes}, got ${count}`, this.span(node), `usage: ${spec.name} ${signature}`);
    return false;
  }

  private acceptsArg(spec: HelperSpec, name: string, kind: ParamKind, arg: CheckedArg): boolean {
    const t = arg.type;
    if (!t || kind === 'any') return true;
    let ok: boolean;
    if (t.kind !== 'scalar') ok = false;
    else if (t.type === 'any' || t.type === 'null' || kind === 'text') ok = true;
    else if (kind === 'number') ok = t.type === 'number';
    else ok = t.type === 'timestamp' || t.type === 'number' || t.type === 'string';
    if (!ok) {
      const wanted = kind === 'number' ? 'a number' : kind === 'time' ? 'a timestamp' : 'a single value';
      this.report(TEMPLATE_CODE.invalidArgument, `${spec.name}: '${name}' must be ${wanted}, got ${describeType(t)}`, arg.span);
    }
    return ok;
  }

  // ---- expressions ----------------------------------------------------------------------------------------------

  private expression(node: Expression): CheckedArg {
    const span = this.span(node);
    switch (node.type) {
      case 'PathExpression':
        return { span, type: this.resolvePath(node as PathExpression) };
      case 'SubExpression': {
        const sub = node as hbs.AST.SubExpression;
        return { span, type: this.helperCall(asPath(sub.path), sub.params, sub.hash, sub) };
      }
      case 'StringLiteral':
        return { span, type: scalar('string'), literal: { value: (node as hbs.AST.StringLiteral).value } };
      case 'NumberLiteral':
        return { span, type: scalar('number'), literal: { value: (node as hbs.AST.NumberLiteral).value } };
      case 'BooleanLiteral':
        return { span, type: scalar('bool'), literal: { value: (node as hbs.AST.BooleanLiteral).value } };
      case 'NullLiteral':
      case 'UndefinedLiteral':
        return { span, type: scalar('null'), literal: { value: null } };
      default:
        this.report(TEMPLATE_CODE.unsupported, `unsupported expression (${node.type})`, span);
        return { span, type: undefined };
    }
  }

  private requirePrintable(type: ValueType, path: PathExpression): void {
    if (type.kind === 'scalar') return;
    const what = type.kind === 'list' ? 'a list' : 'an object';
    const hint =
      type.kind === 'list' ? `loop over it: {{#each ${path.original}}}…{{/each}}` : `print one of its fields, e.g. {{${fieldExample(path, type)}}}`;
    this.report(TEMPLATE_CODE.notPrintable, `'${path.original}' is ${what} and cannot be printed`, this.span(path), hint);
  }

  /** The type a path names, or undefined after reporting why it names nothing. */
  private resolvePath(path: PathExpression): ValueType | undefined {
    const span = this.span(path);
    let type: ValueType;
    let rest = path.parts;
    if (path.data) {
      const head = path.parts[0] ?? '';
      if (head === 'root') {
        type = this.root;
        rest = path.parts.slice(1);
      } else if (EACH_DATA.has(head)) {
        if (this.eachDepth === 0) {
          this.report(TEMPLATE_CODE.unknownVariable, `'@${head}' is only set inside {{#each}}`, span);
          return undefined;
        }
        type = EACH_DATA.get(head)!;
        rest = path.parts.slice(1);
      } else {
        const hint = didYouMean(head, ['root', ...EACH_DATA.keys()]);
        this.report(TEMPLATE_CODE.unknownVariable, `unknown data variable '@${head}'`, span, hint ? hint.replace(/'(\w+)'/, "'@$1'") : undefined);
        return undefined;
      }
    } else {
      const param = !path.depth && !isScoped(path) && path.parts.length > 0 ? this.blockParam(path.parts[0]) : undefined;
      if (param) {
        type = param;
        rest = path.parts.slice(1);
      } else {
        const index = this.contexts.length - 1 - path.depth;
        if (index < 0) {
          this.report(TEMPLATE_CODE.unknownVariable, `'${path.original}' goes above the outermost scope`, span, 'remove one ../');
          return undefined;
        }
        type = this.contexts[index];
      }
    }
    for (let i = 0; i < rest.length; i++) {
      const part = rest[i];
      if (type.kind !== 'object') {
        if (type.kind === 'scalar' && type.type === 'any') return type;
        this.report(TEMPLATE_CODE.unknownVariable, `'${path.original}': '${rest.slice(0, i).join('.') || 'this'}' is ${describeType(type)} and has no field '${part}'`, span);
        return undefined;
      }
      const field = type.fields.get(part);
      if (!field) {
        this.unknownField(path, type, part, i === 0 && !path.data && !path.depth && !isScoped(path));
        return undefined;
      }
      this.noteUse(type, part);
      type = field;
    }
    return type;
  }

  private currentHas(name: string): boolean {
    const t = this.contexts[this.contexts.length - 1];
    return this.blockParam(name) !== undefined || (t.kind === 'object' && t.fields.has(name));
  }

  private blockParam(name: string): ValueType | undefined {
    for (let i = this.blockParams.length - 1; i >= 0; i--) {
      const t = this.blockParams[i].get(name);
      if (t) return t;
    }
    return undefined;
  }

  private unknownField(path: PathExpression, type: ObjectType, part: string, bare: boolean): void {
    const span = this.span(path);
    if (type.role === 'root' && part === 'event') {
      if (this.options.eventType === undefined) {
        this.report(
          TEMPLATE_CODE.eventWithoutTrigger,
          `'${path.original}' is used, but this template is used where no event triggers it`,
          span,
          'event.<prop> is available only in templates sent by a journey entered by an event',
        );
      } else {
        this.report(TEMPLATE_CODE.unknownEventType, `'${path.original}': the triggering event type '${this.options.eventType}' is not declared`, span);
      }
      return;
    }
    const message =
      type.role === 'root' ? `unknown variable '${path.original}'` : `unknown variable '${path.original}': '${part}' is not one of the ${type.description}`;
    // A bare name may be a mistyped block param as well as a field: the closest of all wins (params first on ties).
    const params = bare ? this.blockParams.flatMap((m) => [...m.keys()]) : [];
    let hint = type.hints?.get(part) ?? didYouMean(part, [...params, ...type.fields.keys()]);
    if (!hint && bare) hint = this.outerHint(part);
    this.report(TEMPLATE_CODE.unknownVariable, message, span, hint);
  }

  /** When a bare name is unknown here but exists in an enclosing context, say how to reach it. */
  private outerHint(part: string): string | undefined {
    for (let depth = 1; depth < this.contexts.length; depth++) {
      const t = this.contexts[this.contexts.length - 1 - depth];
      if (t.kind === 'object' && t.fields.has(part)) {
        return `inside a block, names refer to the block's item; write '${'../'.repeat(depth)}${part}' (or '@root.${part}' at the top level)`;
      }
    }
    return undefined;
  }

  private noteUse(owner: ObjectType, field: string): void {
    switch (owner.role) {
      case 'root':
        if (field === 'ltv' || field === 'rfm' || field === 'clv') this.derived.add(field);
        else if (field === 'unsubscribe_url') this.unsubscribeUrl = true;
        else if (field === 'preferences_url') this.preferencesUrl = true;
        else if (this.model.attributes.has(field) && !RESERVED.has(field)) this.attributes.add(field);
        return;
      case 'profile':
        this.attributes.add(field);
        return;
      case 'event':
        this.eventProps.add(field);
        return;
      default:
        return;
    }
  }
}

const RESERVED: ReadonlySet<string> = new Set(RESERVED_ROOT_NAMES);

function fieldExample(path: PathExpression, type: ObjectType): string {
  const first = type.fields.keys().next().value;
  return first === undefined ? path.original : `${path.original === 'this' ? '' : `${path.original}.`}${first}`;
}

/** Handlebars accepts a literal in name position (`{{"a b"}}`) and looks it up as a one-part path. */
function asPath(node: hbs.AST.PathExpression | hbs.AST.Literal | Expression): PathExpression {
  if (node.type === 'PathExpression') return node as PathExpression;
  const value = String((node as { original?: unknown; value?: unknown }).original ?? (node as { value?: unknown }).value);
  return { type: 'PathExpression', data: false, depth: 0, parts: [value], original: value, loc: node.loc };
}
