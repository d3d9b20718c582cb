import { describe, expect, it } from 'vitest';
import {
  compileTemplateSet,
  renderMessage,
  TEMPLATE_CODE as C,
  TemplateRenderError,
  type CompiledTemplateSet,
  type TemplateSetInput,
} from '../../src/templates/index.js';
import { demoModel } from '../support/demo-model.js';
import { BERLIN_NOON, makeContext, spanOf } from './support.js';

function compile<O>(input: TemplateSetInput<O>, eventType?: string): CompiledTemplateSet {
  const r = compileTemplateSet(input, demoModel, eventType ? { eventType } : {});
  const errors = r.diagnostics.filter((d) => d.diagnostic.severity === 'error');
  if (!r.templateSet || errors.length) throw new Error(JSON.stringify(r.diagnostics));
  return r.templateSet;
}

const DAY = 86_400_000;
// Views at 23:30 UTC: already the next day in Berlin, which the dates below must show.
const views = [
  { ts: Date.UTC(2024, 4, 28, 23, 30), props: { product_id: 'sku-2', price: 79 } },
  { ts: Date.UTC(2024, 4, 30, 23, 30), props: { product_id: 'sku-1', price: 129.9 } },
  { ts: Date.UTC(2024, 4, 20, 8, 0), props: { product_id: 'sku-4', price: 19 } },
  { ts: Date.UTC(2024, 4, 29, 23, 30), props: { product_id: 'sku-3', price: 12.5 } },
];

const WINBACK_HTML = `<h1>Hi {{default first_name "there"}},</h1>
<p>You have spent {{money ltv}} with us since {{date signed_up_at "d LLLL yyyy"}}.</p>
<ul>
{{#each (recent "product_view" 3) as |p|}}
  <li><a href="{{link p.url}}">{{p.name}}</a> – {{money p.price}} ({{p.category}}), seen {{date p.ts "d LLL, HH:mm"}}</li>
{{/each}}
</ul>
<p><a href="{{unsubscribe_url}}">Unsubscribe</a></p>`;

describe('a realistic email', () => {
  const set = compile({
    email: {
      subject: { text: '{{first_name}}, we kept something for you', origin: 'templates/winback.yaml' },
      html: { text: WINBACK_HTML, origin: 'templates/winback.html.hbs' },
      text: 'Hi {{first_name}}, {{money ltv}} of favourites are waiting: {{link "https://shop.example/back"}}\nUnsubscribe: {{unsubscribe_url}}',
    },
  });
  const ctx = makeContext(
    { profile: { first_name: 'Anna', signed_up_at: Date.UTC(2021, 2, 3, 23, 0) } },
    { product_view: views.slice(0, 3) },
  );

  it('joins recent views to the catalogue, newest first, money in EUR, dates in the customer zone', () => {
    const m = renderMessage(set, 'email', ctx);
    expect(m.subject).toBe('Anna, we kept something for you');
    expect(m.html).toBe(`<h1>Hi Anna,</h1>
<p>You have spent €1,234.50 with us since 4 March 2021.</p>
<ul>
  <li><a href="https://shop.example/p/sku-1">Trail Shoe</a> – €129.90 (shoes), seen 31 May, 01:30</li>
  <li><a href="https://shop.example/p/sku-2">Rain Jacket</a> – €79.00 (outerwear), seen 29 May, 01:30</li>
  <li><a href="https://shop.example/p/sku-4">Cap</a> – €19.00 (hats), seen 20 May, 10:00</li>
</ul>
<p><a href="https://shop.example/u?c&#x3D;c-42&amp;t&#x3D;abc">Unsubscribe</a></p>`);
    expect(m.text).toBe(
      'Hi Anna, €1,234.50 of favourites are waiting: https://shop.example/back\nUnsubscribe: https://shop.example/u?c=c-42&t=abc',
    );
  });

  it('takes only n events, newest first, whatever order the host gives', () => {
    const html = renderMessage(set, 'email', makeContext({}, { product_view: views })).html!;
    // the host's slice(0, 3) of an unsorted list: the helper still orders newest first
    expect([...html.matchAll(/<a href="https:\/\/shop.example\/p\/(sku-\d)">/g)].map((m) => m[1])).toEqual(['sku-1', 'sku-2', 'sku-4']);
  });

  it('the event price wins over the catalogue price; missing catalogue rows render empty', () => {
    const only = compile({ sms: '{{#each (recent "product_view" 2)}}[{{name}}|{{money price}}]{{/each}}' });
    const ctx2 = makeContext({}, { product_view: [{ ts: 2, props: { product_id: 'sku-2', price: 79 } }, { ts: 1, props: { product_id: 'gone' } }] });
    expect(renderMessage(only, 'sms', ctx2).text).toBe('[Rain Jacket|€79.00][|]');
  });

  it('is deterministic', () => {
    const a = renderMessage(set, 'email', ctx);
    const b = renderMessage(set, 'email', ctx);
    expect(b).toEqual(a);
  });

  it('rewrites links through trackLink when the host gives one', () => {
    const tracked = makeContext({ trackLink: (url) => `https://t.example/c?u=${encodeURIComponent(url)}` }, { product_view: views.slice(0, 1) });
    const m = renderMessage(set, 'email', tracked);
    expect(m.html).toContain('href="https://t.example/c?u&#x3D;https%3A%2F%2Fshop.example%2Fp%2Fsku-2"');
    expect(m.text).toContain('https://t.example/c?u=https%3A%2F%2Fshop.example%2Fback');
  });
});

describe('escaping', () => {
  const set = compile({
    email: { subject: '{{first_name}}', html: '<p title="{{first_name}}">Hi {{first_name}}</p>', text: 'Hi {{first_name}}' },
    push: { title: '{{first_name}}', body: 'Hi {{first_name}}' },
    sms: 'Hi {{first_name}}',
    webhook: { body: { name: '{{first_name}}', n: 1 } },
  });
  const evil = '<script>alert("x")</script>';
  const ctx = makeContext({ profile: { first_name: evil } });

  it('html bodies escape attribute values (no XSS)', () => {
    const m = renderMessage(set, 'email', ctx);
    expect(m.html).toBe('<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;">Hi &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</p>');
    expect(m.html).not.toContain('<script>');
  });

  it('subject, text, push, SMS and webhook are not HTML-escaped', () => {
    expect(renderMessage(set, 'email', ctx).text).toBe(`Hi ${evil}`);
    expect(renderMessage(set, 'email', ctx).subject).toBe(evil);
    expect(renderMessage(set, 'push', ctx)).toEqual({ channel: 'push', title: evil, body: `Hi ${evil}` });
    expect(renderMessage(set, 'sms', ctx).text).toBe(`Hi ${evil}`);
  });

  it('webhook values stay inside JSON strings', () => {
    const m = renderMessage(set, 'webhook', makeContext({ profile: { first_name: '", "admin": true, "x": "' } }));
    expect(m.body).toEqual({ name: '", "admin": true, "x": "', n: 1 });
  });
});

describe('channels', () => {
  it('sms carries its segment count and encoding', () => {
    const set = compile({ sms: '{{first_name}}, -10% today only: {{link "https://shop.example/back"}}' });
    expect(renderMessage(set, 'sms', makeContext())).toEqual({
      channel: 'sms',
      text: 'Anna, -10% today only: https://shop.example/back',
      encoding: 'gsm7',
      units: 48,
      segments: 1,
    });
    expect(renderMessage(set, 'sms', makeContext({ profile: { first_name: 'Zoë 😀' } }))).toMatchObject({ encoding: 'ucs2', segments: 1 });
  });

  it('money and times in SMS use plain spaces, so an SMS stays GSM-7', () => {
    const set = compile({ sms: '{{money ltv}} {{date now "t"}}', email: { subject: 'x', text: '{{money ltv}}' } });
    const ctx = makeContext({ locale: 'de-DE' });
    expect(renderMessage(set, 'sms', ctx)).toMatchObject({ text: '1.234,50 € 12:00', encoding: 'gsm7' });
    expect(renderMessage(set, 'email', ctx).text).toBe('1.234,50\u00a0€');
  });

  it('event props render from the triggering event; missing values render empty', () => {
    const set = compile({ push: { title: 'Order {{event.order_id}}', body: '{{money event.amount}}{{first_name}}', url: ' https://shop.example/o/{{event.order_id}} ' } }, 'purchase');
    const m = renderMessage(set, 'push', makeContext({ profile: {}, event: { order_id: 'o-7', amount: 42 } }));
    expect(m).toEqual({ channel: 'push', title: 'Order o-7', body: '€42.00', url: 'https://shop.example/o/o-7' });
  });

  it('a subject is folded onto one line', () => {
    const set = compile({ email: { subject: 'Hi\n  {{first_name}}\r\n!', text: 'x' } });
    expect(renderMessage(set, 'email', makeContext()).subject).toBe('Hi Anna !');
  });

  it('derived values absent for a customer render empty, not an error', () => {
    const set = compile({ sms: '[{{ltv}}|{{rfm.segment}}|{{clv.p_alive}}|{{money ltv}}]' });
    expect(renderMessage(set, 'sms', makeContext({ derived: undefined })).text).toBe('[|||]');
  });

  it('now, customer_id, preferences_url', () => {
    const set = compile({ sms: '{{customer_id}} {{date now "yyyy-MM-dd HH:mm"}} {{preferences_url}}' });
    expect(renderMessage(set, 'sms', makeContext()).text).toBe(`c-42 2024-06-01 12:00 https://shop.example/prefs?c=c-42`);
    expect(BERLIN_NOON + DAY).toBeGreaterThan(0);
  });

  it('a host callback that throws surfaces as TemplateRenderError with the variant', () => {
    const set = compile({ sms: '{{#each (recent "cart_add" 1)}}{{name}}{{/each}}' });
    const ctx = makeContext({
      recentEvents: () => {
        throw new Error('db down');
      },
    });
    let err: unknown;
    try {
      renderMessage(set, 'sms', ctx);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TemplateRenderError);
    expect(err).toMatchObject({ code: C.renderFailed, variant: 'sms' });
  });

  it('a channel without a variant is a programming error', () => {
    const set = compile({ sms: 'x' });
    expect(() => renderMessage(set, 'email', makeContext())).toThrow(/no email variant/);
  });
});

describe('compileTemplateSet diagnostics', () => {
  it('carry the variant key and the caller origin, with spans into that text', () => {
    const html = '<p>{{frist_name}}</p>';
    const r = compileTemplateSet(
      { email: { subject: { text: 'Hi', origin: { file: 'a.yaml', offset: 10 } }, html: { text: html, origin: { file: 'w.html.hbs', offset: 0 } } } },
      demoModel,
    );
    expect(r.templateSet).toBeUndefined();
    expect(r.diagnostics).toEqual([
      {
        variant: 'email.html',
        origin: { file: 'w.html.hbs', offset: 0 },
        diagnostic: expect.objectContaining({ code: C.unknownVariable, span: spanOf(html, 'frist_name') }),
      },
    ]);
  });

  it('an email with neither html nor text is an error', () => {
    const r = compileTemplateSet({ email: { subject: 'Hi' } }, demoModel);
    expect(r.diagnostics.map((d) => [d.variant, d.diagnostic.code])).toEqual([['email', C.missingBody]]);
  });

  it('webhook leaves are keyed by JSON pointer; every variant is checked in one run', () => {
    const r = compileTemplateSet({ webhook: { body: { a: ['ok', '{{nope}}'], 'b/c': '{{#if}}x{{/if}}' } }, sms: '{{also_nope}}' }, demoModel);
    expect(r.diagnostics.map((d) => [d.variant, d.diagnostic.code])).toEqual([
      ['sms', C.unknownVariable],
      ['webhook.body/a/1', C.unknownVariable],
      ['webhook.body/b~1c', C.wrongArity],
    ]);
  });

  it('SMS warnings: fixed text forcing UCS-2, fixed text over the segment budget', () => {
    const sms = 'Hi {{first_name}}, it’s on sale! ' + 'x'.repeat(150);
    const r = compileTemplateSet({ sms }, demoModel);
    expect(r.templateSet).toBeDefined();
    expect(r.diagnostics.map((d) => [d.diagnostic.code, d.diagnostic.severity, d.diagnostic.span, d.diagnostic.hint])).toEqual([
      [C.smsUcs2, 'warning', spanOf(sms, '’'), `write "'" instead`],
      [C.smsTooLong, 'warning', { start: 0, end: sms.length }, 'keep it within one segment (70 characters in UCS-2)'],
    ]);
    expect(compileTemplateSet({ sms }, demoModel, { smsMaxSegments: 3 }).diagnostics.map((d) => d.diagnostic.code)).toEqual([C.smsUcs2]);
  });

  it('usage of the whole set', () => {
    const set = compile({ email: { subject: '{{first_name}}', html: '{{unsubscribe_url}}{{#each (recent "cart_add" 2)}}{{name}}{{/each}}' }, sms: '{{money ltv}}' });
    expect(set.usage).toEqual({
      attributes: ['first_name'],
      eventProps: [],
      derived: ['ltv'],
      recent: [{ event: 'cart_add', n: 2 }],
      unsubscribeUrl: true,
      preferencesUrl: false,
    });
  });
});
