import Handlebars from 'handlebars';
import { afterEach, describe, expect, it } from 'vitest';
import { compileTemplate, compileTemplateSet, parseTemplate, renderMessage, TEMPLATE_CODE, TEMPLATE_CODES } from '../../src/templates/index.js';
import { demoModel } from '../support/demo-model.js';
import { makeContext, spanOf } from './support.js';

describe('syntax errors carry the exact offset inside the text', () => {
  const cases: { name: string; source: string; at: string; nth?: number; length?: number }[] = [
    { name: 'single closing brace', source: 'Hi {{first_name}', at: '}' },
    { name: 'on a later line', source: 'Hello,\nsee {{#each items}}\n{{name}\n{{/each}}', at: '}\n{{/each', length: 1 },
    { name: 'after CRLF line breaks', source: 'a\r\nb\r\n  {{foo bar', at: 'b', nth: 1 },
    { name: 'after a lone CR', source: 'a\rb {{x "y}}', at: '"' },
    { name: 'after astral characters (UTF-16 offsets)', source: '😀😀 {{x y=}}', at: '}}' },
    { name: 'triple close', source: 'x\ny\n{{foo}}}', at: '}}}' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { diagnostics } = compileTemplate(c.source, 'html');
      expect(diagnostics).toHaveLength(1);
      const d = diagnostics[0];
      expect(d.code).toBe(TEMPLATE_CODE.syntaxError);
      const want = spanOf(c.source, c.at, c.nth);
      expect(d.span.start).toBe(want.start);
      expect(d.span.end).toBe(c.length === undefined ? want.end : want.start + c.length);
    });
  }

  it('points at the open block when the close does not match', () => {
    const source = 'a\nb {{#if x}}\n{{/each}}';
    const [d] = compileTemplate(source, 'none').diagnostics;
    expect(d.code).toBe(TEMPLATE_CODE.syntaxError);
    expect(d.span).toEqual(spanOf(source, 'if'));
    expect(d.hint).toBe('close it with {{/if}}');
  });

  it('an unclosed block points at the end of the text', () => {
    const source = '{{#if first_name}}Hi';
    const [d] = compileTemplate(source, 'none').diagnostics;
    expect(d.code).toBe(TEMPLATE_CODE.syntaxError);
    expect(d.span).toEqual({ start: source.length, end: source.length });
  });

  it('an unterminated comment points at its opening', () => {
    const source = 'ok\n{{!-- never closed';
    const [d] = compileTemplate(source, 'none').diagnostics;
    expect(d.code).toBe(TEMPLATE_CODE.syntaxError);
    expect(d.span.start).toBe(source.indexOf('{{!--'));
  });

  it('an invalid path is positioned by its node', () => {
    const source = 'x {{a.this.b}}';
    const [d] = parseTemplate(source).diagnostics;
    expect(d.code).toBe(TEMPLATE_CODE.syntaxError);
    expect(d.span.start).toBe(source.indexOf('a.this'));
  });
});

describe('strict compile at load', () => {
  it('compiles eagerly: an unknown helper fails at load, not at first render', () => {
    // Handlebars.compile would only throw on the first call; compileTemplate reports it now.
    const source = 'x {{lookup profile "first_name"}}';
    const { template, diagnostics } = compileTemplate(source, 'none');
    expect(template).toBeUndefined();
    expect(diagnostics.map((d) => d.code)).toEqual([TEMPLATE_CODE.unknownHelper]);
    expect(diagnostics[0].span.start).toBe(source.indexOf('{{lookup'));
  });

  it('is strict: a missing key throws at render instead of printing nothing', () => {
    const { template } = compileTemplate('{{nope}}', 'none');
    expect(() => template!.render({}, {})).toThrow(/"nope" not defined/);
  });

  it('html mode escapes, none mode does not', () => {
    const html = compileTemplate('{{v}}', 'html').template!;
    const none = compileTemplate('{{v}}', 'none').template!;
    expect(html.render({ v: '<b>&"\'' }, {})).toBe('&lt;b&gt;&amp;&quot;&#x27;');
    expect(none.render({ v: '<b>&"\'' }, {})).toBe('<b>&"\'');
  });
});

describe('the global Handlebars instance is never touched', () => {
  afterEach(() => {
    Handlebars.unregisterHelper('money');
    Handlebars.unregisterHelper('shout');
    Handlebars.unregisterPartial('footer');
  });

  it('compiling and rendering registers nothing globally', () => {
    const helpersBefore = Object.keys(Handlebars.helpers).sort();
    const partialsBefore = Object.keys(Handlebars.partials).sort();
    const { templateSet } = compileTemplateSet({ sms: '{{money ltv}} {{upper first_name}}' }, demoModel);
    renderMessage(templateSet!, 'sms', makeContext());
    expect(Object.keys(Handlebars.helpers).sort()).toEqual(helpersBefore);
    expect(Object.keys(Handlebars.partials).sort()).toEqual(partialsBefore);
    expect(Handlebars.helpers.money).toBeUndefined();
  });

  it('global helpers and partials neither override ours nor become callable', () => {
    Handlebars.registerHelper('money', () => 'HACKED');
    Handlebars.registerHelper('shout', () => 'HACKED');
    Handlebars.registerPartial('footer', 'HACKED');
    const { templateSet } = compileTemplateSet({ sms: '{{money ltv}}' }, demoModel);
    expect(renderMessage(templateSet!, 'sms', makeContext()).text).toBe('€1,234.50');
    expect(compileTemplateSet({ sms: '{{shout first_name}}' }, demoModel).diagnostics.map((d) => d.diagnostic.code)).toEqual([
      TEMPLATE_CODE.unknownHelper,
    ]);
    expect(compileTemplateSet({ sms: '{{> footer}}' }, demoModel).diagnostics.map((d) => d.diagnostic.code)).toEqual([TEMPLATE_CODE.unsupported]);
  });
});

describe('TEMPLATE_CODES', () => {
  it('lists every code once, in order, with a title', () => {
    const listed = TEMPLATE_CODES.map((c) => c.code);
    expect(listed).toEqual(Object.values(TEMPLATE_CODE));
    expect(new Set(listed).size).toBe(listed.length);
    listed.forEach((code, i) => expect(code).toBe(`HER${3001 + i}`));
    for (const c of TEMPLATE_CODES) expect(c.title.length).toBeGreaterThan(5);
  });
});
