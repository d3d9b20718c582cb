import { describe, expect, it } from 'vitest';
import type { DataModel } from '../../src/model/data-model.js';
import { TEMPLATE_CODE as C } from '../../src/templates/index.js';
import { demoModel } from '../support/demo-model.js';
import { check, codes, spanOf } from './support.js';

describe('names at the top level', () => {
  it('accepts attributes bare and as profile.<attr>, and the reserved names', () => {
    const source =
      '{{first_name}} {{profile.first_name}} {{customer_id}} {{ltv}} {{rfm.r}} {{rfm.f}} {{rfm.m}} {{rfm.score}} ' +
      '{{rfm.segment}} {{clv.p_alive}} {{now}} {{unsubscribe_url}} {{preferences_url}} {{this.country}} {{./email}} {{@root.phone}}';
    expect(codes(source)).toEqual([]);
  });

  it('unknown variable: code, span of the name, did-you-mean', () => {
    const source = 'Hi {{frist_name}}!';
    expect(codes(source)).toEqual([{ code: C.unknownVariable, span: spanOf(source, 'frist_name'), hint: "did you mean 'first_name'?" }]);
  });

  it('unknown attribute under profile', () => {
    const source = '{{profile.emial}}';
    const [d] = check(source).diagnostics;
    expect(d).toMatchObject({ code: C.unknownVariable, span: spanOf(source, 'profile.emial'), hint: "did you mean 'email'?" });
    expect(d.message).toContain('customer attributes');
  });

  it('unknown rfm field, and a field of a scalar', () => {
    const source = '{{rfm.segmnt}} {{first_name.length}}';
    expect(codes(source)).toEqual([
      { code: C.unknownVariable, span: spanOf(source, 'rfm.segmnt'), hint: "did you mean 'segment'?" },
      { code: C.unknownVariable, span: spanOf(source, 'first_name.length'), hint: undefined },
    ]);
  });

  it('a name far from every candidate gets no hint', () => {
    expect(codes('{{zzzzzzzz}}')).toEqual([{ code: C.unknownVariable, span: { start: 2, end: 10 }, hint: undefined }]);
  });

  it('rfm, ltv and clv are unknown when the project does not configure them, with the reason', () => {
    const bare: DataModel = { ...demoModel, rfm: undefined, clv: undefined };
    const source = '{{ltv}} {{rfm.r}} {{clv.p_alive}}';
    const ds = check(source, {}, bare).diagnostics;
    expect(ds.map((d) => [d.code, d.span])).toEqual([
      [C.unknownVariable, spanOf(source, 'ltv')],
      [C.unknownVariable, spanOf(source, 'rfm.r')],
      [C.unknownVariable, spanOf(source, 'clv.p_alive')],
    ]);
    expect(ds[0].hint).toMatch(/rfm/);
    expect(ds[2].hint).toMatch(/clv/);
  });

  it('printing an object or a list is an error', () => {
    const source = '{{profile}} {{rfm}} {{event.product_ids}}';
    expect(check(source, { eventType: 'purchase' }).diagnostics.map((d) => [d.code, d.span])).toEqual([
      [C.notPrintable, spanOf(source, 'profile')],
      [C.notPrintable, spanOf(source, 'rfm')],
      [C.notPrintable, spanOf(source, 'event.product_ids')],
    ]);
  });

  it('@index outside #each, unknown @data, ../ above the root', () => {
    const source = '{{@index}} {{@indx}} {{../first_name}}';
    expect(codes(source)).toEqual([
      { code: C.unknownVariable, span: spanOf(source, '@index'), hint: undefined },
      { code: C.unknownVariable, span: spanOf(source, '@indx'), hint: "did you mean '@index'?" },
      { code: C.unknownVariable, span: spanOf(source, '../first_name'), hint: 'remove one ../' },
    ]);
  });
});

describe('event.<prop>', () => {
  it('is allowed with the triggering event type', () => {
    expect(codes('{{event.order_id}} {{money event.amount}}', { eventType: 'purchase' })).toEqual([]);
  });

  it('unknown prop of the triggering event', () => {
    const source = '{{event.amout}}';
    expect(codes(source, { eventType: 'purchase' })).toEqual([
      { code: C.unknownVariable, span: spanOf(source, 'event.amout'), hint: "did you mean 'amount'?" },
    ]);
  });

  it('without an event type it is an error saying nothing triggers the template', () => {
    const source = 'Thanks for order {{event.order_id}}';
    const [d] = check(source).diagnostics;
    expect(d.code).toBe(C.eventWithoutTrigger);
    expect(d.span).toEqual(spanOf(source, 'event.order_id'));
    expect(d.message).toMatch(/no event triggers it/);
  });

  it('an undeclared triggering event type is reported once', () => {
    const ds = check('{{first_name}}', { eventType: 'purchse' }).diagnostics;
    expect(ds.map((d) => [d.code, d.hint])).toEqual([[C.unknownEventType, "did you mean 'purchase'?"]]);
  });
});

describe('#each (recent …) and block scoping', () => {
  it('inside the loop: the event props, catalogue fields and ts; outside names need ../', () => {
    const source =
      '{{#each (recent "product_view" 3)}}{{name}} {{price}} {{category}} {{url}} {{image}} {{product_id}} {{date ts}} ' +
      '{{@index}} {{@first}} {{../first_name}} {{@root.first_name}}{{/each}}';
    expect(codes(source)).toEqual([]);
  });

  it('a customer attribute used bare inside the loop is unknown, with the ../ hint', () => {
    const source = '{{#each (recent "product_view" 3)}}{{first_name}}{{/each}}';
    const [d] = check(source).diagnostics;
    expect(d.code).toBe(C.unknownVariable);
    expect(d.span).toEqual(spanOf(source, 'first_name'));
    expect(d.hint).toMatch(/'\.\.\/first_name'/);
  });

  it('unknown item field gets a did-you-mean over item fields', () => {
    const source = '{{#each (recent "product_view" 3)}}{{nmae}}{{/each}}';
    expect(codes(source)).toEqual([{ code: C.unknownVariable, span: spanOf(source, 'nmae'), hint: "did you mean 'name'?" }]);
  });

  it('events without product_id are not joined to the catalogue, and the hint says so', () => {
    const source = '{{#each (recent "purchase" 2)}}{{order_id}} {{money amount}} {{name}}{{/each}}';
    const ds = check(source).diagnostics;
    expect(ds.map((d) => [d.code, d.span])).toEqual([[C.unknownVariable, spanOf(source, 'name')]]);
    expect(ds[0].hint).toMatch(/no product_id/);
  });

  it('block params: item and index, nested each over a list prop', () => {
    const source =
      '{{#each (recent "purchase" 3) as |order i|}}{{i}}: {{order.order_id}} ' +
      '{{#each order.product_ids as |pid|}}{{pid}} {{order.amount}} {{this}}{{/each}}{{/each}}';
    expect(codes(source)).toEqual([]);
  });

  it('a block param is unknown after its block, and a typo in one gets a hint', () => {
    const source = '{{#each (recent "product_view" 3) as |item|}}{{itme.name}}{{/each}}{{item.name}}';
    expect(codes(source)).toEqual([
      { code: C.unknownVariable, span: spanOf(source, 'itme.name'), hint: "did you mean 'item'?" },
      { code: C.unknownVariable, span: { start: source.lastIndexOf('item.name'), end: source.lastIndexOf('item.name') + 'item.name'.length }, hint: undefined },
    ]);
  });

  it('#with enters an object, ../ leaves it; #if does not change the context', () => {
    const source = '{{#with profile}}{{first_name}} {{../ltv}}{{/with}}{{#with rfm as |s|}}{{s.segment}} {{score}}{{/with}}{{#if ltv}}{{first_name}}{{else}}{{customer_id}}{{/if}}';
    expect(codes(source)).toEqual([]);
  });

  it('../ counts only #each and #with, not #if', () => {
    const source = '{{#each (recent "cart_add" 2)}}{{#if price}}{{../first_name}}{{/if}}{{/each}}';
    expect(codes(source)).toEqual([]);
  });

  it('#each over a non-list, #if with two arguments, block params on #if', () => {
    const source = '{{#each profile}}x{{/each}}{{#if a_b first_name}}y{{/if}}{{#if ltv as |x|}}z{{/if}}';
    const ds = check(source).diagnostics.map((d) => [d.code, d.span]);
    expect(ds).toContainEqual([C.blockMisuse, spanOf(source, 'profile')]);
    expect(ds).toContainEqual([C.unknownVariable, spanOf(source, 'a_b')]);
    expect(ds).toContainEqual([C.wrongArity, spanOf(source, 'if')]);
    expect(ds.filter(([c]) => c === C.blockMisuse)).toHaveLength(2);
  });
});

describe('recent', () => {
  it('needs a declared event type literal', () => {
    const source = '{{#each (recent "product_veiw" 3)}}{{name}}{{/each}}';
    expect(codes(source)).toEqual([{ code: C.unknownEventType, span: spanOf(source, '"product_veiw"'), hint: "did you mean 'product_view'?" }]);
  });

  it('rejects a non-literal event type and a bad count', () => {
    const source = '{{#each (recent first_name 0)}}x{{/each}}{{#each (recent "cart_add" 500)}}y{{/each}}';
    expect(check(source).diagnostics.map((d) => [d.code, d.span])).toEqual([
      [C.invalidArgument, spanOf(source, 'first_name')],
      [C.invalidArgument, spanOf(source, '0')],
      [C.invalidArgument, spanOf(source, '500')],
    ]);
  });

  it('cannot be printed, but can be tested with #if', () => {
    const source = '{{recent "cart_add" 1}}{{#if (recent "cart_add" 1)}}left something{{/if}}';
    expect(check(source).diagnostics.map((d) => [d.code, d.span])).toEqual([[C.notPrintable, spanOf(source, 'recent')]]);
  });
});

describe('helpers', () => {
  it('unknown helper: code, span of its name, did-you-mean', () => {
    const source = '{{mony ltv}}';
    expect(codes(source)).toEqual([{ code: C.unknownHelper, span: spanOf(source, 'mony'), hint: "did you mean 'money'?" }]);
  });

  it('unknown helper in a subexpression', () => {
    const source = '{{upper (shout first_name)}}';
    expect(codes(source)).toEqual([{ code: C.unknownHelper, span: spanOf(source, 'shout'), hint: undefined }]);
  });

  it('wrong arity spans the call and shows the usage', () => {
    const source = 'a {{money}} b {{date now "d" "x"}} c {{pluralize 2}}';
    expect(codes(source)).toEqual([
      { code: C.wrongArity, span: spanOf(source, '{{money}}'), hint: 'usage: money amount' },
      { code: C.wrongArity, span: spanOf(source, '{{date now "d" "x"}}'), hint: 'usage: date timestamp [format]' },
      { code: C.wrongArity, span: spanOf(source, '{{pluralize 2}}'), hint: 'usage: pluralize count singular [plural]' },
    ]);
  });

  it('argument types and hash keys', () => {
    const source = '{{money first_name}} {{date email_opt_in}} {{money ltv locale="de-DE"}} {{money ltv locle="de-DE"}} {{upper profile}}';
    expect(check(source).diagnostics.map((d) => [d.code, d.span, d.hint])).toEqual([
      [C.invalidArgument, spanOf(source, 'first_name'), undefined],
      [C.invalidArgument, spanOf(source, 'email_opt_in'), undefined],
      [C.invalidArgument, spanOf(source, 'locle="de-DE"'), "did you mean 'locale'?"],
      [C.invalidArgument, spanOf(source, 'profile'), undefined],
    ]);
  });

  it('block helpers inline, inline helpers as blocks, a variable as a block, lookup/log, partials', () => {
    const source = '{{if ltv}}{{#money ltv}}x{{/money}}{{#first_name}}y{{/first_name}}{{log first_name}}{{> footer}}';
    expect(check(source).diagnostics.map((d) => [d.code, d.span])).toEqual([
      [C.blockMisuse, spanOf(source, 'if')],
      [C.blockMisuse, spanOf(source, 'money')],
      [C.unknownHelper, spanOf(source, 'first_name')],
      [C.unsupported, spanOf(source, 'log')],
      [C.unsupported, spanOf(source, '{{> footer}}')],
    ]);
  });

  it('a helper name with no arguments is a call (as in Handlebars), so {{date}} is an arity error', () => {
    expect(codes('{{date}}').map((d) => d.code)).toEqual([C.wrongArity]);
  });

  it('warns on unescaped output in html only', () => {
    const source = '<p>{{{first_name}}}</p>';
    expect(check(source, { escape: 'html' }).diagnostics.map((d) => [d.code, d.severity, d.span])).toEqual([
      [C.unescapedHtml, 'warning', spanOf(source, '{{{first_name}}}')],
    ]);
    expect(check(source, { escape: 'none' }).diagnostics).toEqual([]);
  });
});

describe('usage', () => {
  it('records attributes, event props, derived values and recent calls', () => {
    const source =
      '{{first_name}} {{#with profile}}{{country}}{{/with}} {{@root.email}} {{money ltv}} {{rfm.segment}} {{event.amount}} ' +
      '{{#each (recent "product_view" 3)}}{{name}}{{/each}}{{#if (recent "product_view" 5)}}{{/if}}{{unsubscribe_url}}';
    expect(check(source, { eventType: 'purchase' }).usage).toEqual({
      attributes: ['country', 'email', 'first_name'],
      eventProps: ['amount'],
      derived: ['ltv', 'rfm'],
      recent: [{ event: 'product_view', n: 5 }],
      unsubscribeUrl: true,
      preferencesUrl: false,
    });
  });
});
