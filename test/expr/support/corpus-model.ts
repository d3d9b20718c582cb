// The data model the conformance corpus is written against: the demo model plus short, typed test
// attributes (x, y numbers; s string; p, q bools; ts timestamp; dur duration; tags, nums lists).
// A SQL back-end creates its tables from this model.
import type { DataModel, FieldDef, FieldType } from '../../../src/model/data-model.js';
import { demoModel } from '../../support/demo-model.js';

const extra: Record<string, FieldType> = {
  x: 'number',
  y: 'number',
  s: 'string',
  s2: 'string',
  p: 'bool',
  q: 'bool',
  ts: 'timestamp',
  ts2: 'timestamp',
  dur: 'duration',
  tags: 'list<string>',
  nums: 'list<number>',
};

export const corpusModel: DataModel = {
  ...demoModel,
  attributes: new Map<string, FieldDef>([
    ...demoModel.attributes,
    ...Object.entries(extra).map(([name, type]): [string, FieldDef] => [name, { name, type }]),
  ]),
};

export const CORPUS_SEGMENTS: ReadonlySet<string> = new Set(['vip', 'lapsed-loyal', 'newsletter']);
