// The data model of the example project (campaigns/herald.yaml), built directly so module tests do not
// depend on the config loader. Keep in step with campaigns/herald.yaml (a config test checks they agree).
import type { DataModel, EventDef, FieldDef, FieldType, PiiKind } from '../../src/model/data-model.js';

function fields(spec: Record<string, FieldType | [FieldType, PiiKind]>): Map<string, FieldDef> {
  return new Map(
    Object.entries(spec).map(([name, t]) => [
      name,
      Array.isArray(t) ? { name, type: t[0], pii: t[1] } : { name, type: t },
    ]),
  );
}

function events(spec: Record<string, Record<string, FieldType>>): Map<string, EventDef> {
  return new Map(Object.entries(spec).map(([name, props]) => [name, { name, props: fields(props) }]));
}

export const demoModel: DataModel = {
  customerId: 'id',
  attributes: fields({
    email: ['string', 'email'],
    phone: ['string', 'phone'],
    first_name: ['string', 'name'],
    country: 'string',
    timezone: 'string',
    email_opt_in: 'bool',
    sms_opt_in: 'bool',
    push_opt_in: 'bool',
    push_endpoint: 'string',
    signed_up_at: 'timestamp',
  }),
  events: events({
    signup: {},
    product_view: { product_id: 'string', price: 'number' },
    cart_add: { product_id: 'string', price: 'number' },
    purchase: { order_id: 'string', amount: 'number', product_ids: 'list<string>' },
    email_open: { campaign: 'string' },
    email_click: { campaign: 'string', url: 'string' },
  }),
  rfm: { windowMs: 365 * 86_400_000, monetary: { event: 'purchase', prop: 'amount' } },
  clv: { unitMs: 7 * 86_400_000, transaction: { event: 'purchase', prop: 'amount' } },
};
