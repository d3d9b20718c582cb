// The data model a Project declares (DESIGN §4.1). Expressions, templates and datasets are all typed
// against it. This is the normalised model, kept apart from the YAML the user writes (see config/).

export type ScalarType = 'string' | 'number' | 'bool' | 'timestamp' | 'duration';
export type ListType = 'list<string>' | 'list<number>' | 'list<bool>' | 'list<timestamp>';
export type FieldType = ScalarType | ListType;

export const FIELD_TYPES: readonly FieldType[] = [
  'string',
  'number',
  'bool',
  'timestamp',
  'duration',
  'list<string>',
  'list<number>',
  'list<bool>',
  'list<timestamp>',
];

/** What kind of personal data a field holds; plan output masks `email` and `phone` by default. */
export type PiiKind = 'email' | 'phone' | 'name' | 'address' | 'other';

export interface FieldDef {
  name: string;
  type: FieldType;
  pii?: PiiKind;
}

export interface EventDef {
  name: string;
  props: ReadonlyMap<string, FieldDef>;
}

export interface RfmSettings {
  /** Look-back window for recency/frequency/monetary, in milliseconds. */
  windowMs: number;
  /** The event type and numeric prop that carry money, e.g. purchase.amount. */
  monetary: { event: string; prop: string };
}

export interface ClvSettings {
  /** The time unit the BG/NBD and Gamma-Gamma models count in, in milliseconds (default one week). */
  unitMs: number;
  /** The event type that counts as a transaction and the prop that carries its value. */
  transaction: { event: string; prop: string };
}

export interface DataModel {
  /** Name of the customer id column in datasets. */
  customerId: string;
  attributes: ReadonlyMap<string, FieldDef>;
  events: ReadonlyMap<string, EventDef>;
  rfm?: RfmSettings;
  clv?: ClvSettings;
}

/** Catalogue fields every product row may carry (DESIGN §7); templates join them to events by `product_id`. */
export const PRODUCT_FIELDS: ReadonlyMap<string, FieldType> = new Map<string, FieldType>([
  ['id', 'string'],
  ['name', 'string'],
  ['price', 'number'],
  ['category', 'string'],
  ['url', 'string'],
  ['image', 'string'],
]);

export const MS_PER_DAY = 86_400_000;
