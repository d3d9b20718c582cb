// Template compile and render throughput. The plan renders one message per simulated send, so render cost per
// message bounds plan time on large datasets. Goal: ≥ 50k SMS renders/s, ≥ 10k email renders/s on one core.
import { compileTemplateSet, renderMessage, type RenderContext } from '../src/templates/index.js';
import { demoModel } from '../test/support/demo-model.js';

const HTML = `<h1>Hi {{default first_name "there"}}</h1><p>{{money ltv}} since {{date signed_up_at "d LLL yyyy"}}</p>
<ul>{{#each (recent "product_view" 3) as |p|}}<li><a href="{{link p.url}}">{{p.name}}</a> {{money p.price}}</li>{{/each}}</ul>
<a href="{{unsubscribe_url}}">Unsubscribe</a>`;

function time(label: string, n: number, fn: (i: number) => void, goalPerSec: number): void {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  const sec = Number(process.hrtime.bigint() - start) / 1e9;
  const rate = n / sec;
  console.log(`${label.padEnd(28)} ${Math.round(rate).toLocaleString('en-US').padStart(10)}/s  (goal ${goalPerSec.toLocaleString('en-US')}, ${(rate / goalPerSec).toFixed(2)}×)`);
}

export async function run(): Promise<void> {
  const input = { email: { subject: '{{first_name}}, we kept something for you', html: HTML }, sms: '{{first_name}}, -10% today: {{link "https://shop.example/back"}}' };
  time('compileTemplateSet', 500, () => compileTemplateSet(input, demoModel), 500);
  const set = compileTemplateSet(input, demoModel).templateSet!;
  const views = [1, 2, 3].map((i) => ({ ts: 1_700_000_000_000 + i, props: { product_id: `p${i}`, price: 10 * i } }));
  const ctx = (i: number): RenderContext => ({
    profile: { first_name: `C${i}`, signed_up_at: 1_600_000_000_000 },
    customerId: `c${i}`,
    now: 1_717_200_000_000,
    timezone: 'Europe/Berlin',
    currency: 'EUR',
    derived: { ltv: i },
    unsubscribeUrl: `https://u.example/${i}`,
    recentEvents: () => views,
    product: (id) => ({ id, name: `Product ${id}`, price: 9.9, url: `https://shop.example/${id}` }),
  });
  time('renderMessage sms', 50_000, (i) => renderMessage(set, 'sms', ctx(i)), 50_000);
  time('renderMessage email', 20_000, (i) => renderMessage(set, 'email', ctx(i)), 10_000);
}
