// Validation of ingest bodies: structural always, and against the active configuration's data model when
// one is active (unknown event types, undeclared props, values of the wrong type). Problems are collected,
// not thrown (STYLE habit 1), each naming the field at fault as a path: `events[3].props.amount`.
import { parseDuration, parseTimestamp, formatTimestamp } from '../../dataset/parse-scalars.js';
import type { DataModel, FieldDef, FieldType } from '../../model/data-model.js';
import { ENGINE_CODE, type EngineCode } from '../codes.js';

export interface IngestProblem {
  code: EngineCode;
  message: string;
  field: string;
  /** 400 for a malformed request, 422 for one the data model refuses, 413 for a batch too large. */
  status: 400 | 413 | 422;
}

export interface ValidEvent {
  customerId: string;
  id: string;
  type: string;
  /** Epoch milliseconds. */
  ts: number;
  props: Record<string, unknown>;
}

export interface ValidCustomer {
  id: string;
  attributes: Record<string, unknown>;
}

export interface Validated<T> {
  value: T[];
  errors: IngestProblem[];
  /** The body was one item rather than `{ events: [...] }` / `{ customers: [...] }`. */
  single: boolean;
}

export interface IngestLimits {
  maxBatch: number;
}

export const MAX_ID_LENGTH = 256;
export const MAX_TYPE_LENGTH = 128;
/** The range PostgreSQL timestamptz and JS Date share comfortably: years 0001 to 9999. */
const MIN_TIMESTAMP = new Date('0001-01-01T00:00:00Z').getTime();
const MAX_TIMESTAMP = new Date('9999-12-31T23:59:59.999Z').getTime();

/** Stop collecting after this many problems: a 10,000-row batch of garbage needs no 10,000-entry answer. */
const MAX_PROBLEMS = 100;

export function validateEvents(body: unknown, model: DataModel | undefined, limits: IngestLimits): Validated<ValidEvent> {
  return validateBody(body, 'events', limits, (item, at, errors) => validateEvent(item, at, model, errors));
}

export function validateCustomers(body: unknown, model: DataModel | undefined, limits: IngestLimits): Validated<ValidCustomer> {
  return validateBody(body, 'customers', limits, (item, at, errors) => validateCustomer(item, at, model, errors));
}

type ItemValidator<T> = (item: unknown, at: (field: string) => string, errors: IngestProblem[]) => T | undefined;

function validateBody<T>(body: unknown, key: 'events' | 'customers', limits: IngestLimits, one: ItemValidator<T>): Validated<T> {
  const errors: IngestProblem[] = [];
  if (!isObject(body)) {
    errors.push(problem(ENGINE_CODE.wrongType, `the body must be a JSON object (one item, or { "${key}": [...] })`, '', 400));
    return { value: [], errors, single: true };
  }
  if (!(key in body)) {
    const value = one(body, (f) => f, errors);
    return { value: value && errors.length === 0 ? [value] : [], errors, single: true };
  }
  const list = body[key];
  if (!Array.isArray(list)) {
    errors.push(problem(ENGINE_CODE.wrongType, `${key} must be an array`, key, 400));
    return { value: [], errors, single: false };
  }
  if (list.length > limits.maxBatch) {
    errors.push(problem(ENGINE_CODE.batchTooLarge, `${list.length} ${key} in one request; at most ${limits.maxBatch}`, key, 413));
    return { value: [], errors, single: false };
  }
  const value: T[] = [];
  for (let i = 0; i < list.length && errors.length < MAX_PROBLEMS; i++) {
    const prefix = `${key}[${i}]`;
    const item = one(list[i], (f) => (f ? `${prefix}.${f}` : prefix), errors);
    if (item) value.push(item);
  }
  return { value: errors.length ? [] : value, errors, single: false };
}

function validateEvent(item: unknown, at: (field: string) => string, model: DataModel | undefined, errors: IngestProblem[]): ValidEvent | undefined {
  if (!isObject(item)) {
    errors.push(problem(ENGINE_CODE.wrongType, 'an event must be an object', at(''), 400));
    return undefined;
  }
  const before = errors.length;
  const id = requireString(item, 'id', MAX_ID_LENGTH, at, errors);
  const customerId = requireString(item, 'customer_id', MAX_ID_LENGTH, at, errors);
  const type = requireString(item, 'type', MAX_TYPE_LENGTH, at, errors);
  const ts = requireTimestamp(item, 'ts', at, errors);
  let props: Record<string, unknown> = {};
  if (item.props !== undefined && item.props !== null) {
    if (!isObject(item.props)) errors.push(problem(ENGINE_CODE.wrongType, 'props must be an object', at('props'), 400));
    else props = item.props;
  }
  if (errors.length > before || type === undefined) return undefined;
  if (!checkNul(props, at('props'), errors)) return undefined;
  if (model) {
    const def = model.events.get(type);
    if (!def) {
      const known = [...model.events.keys()].sort().join(', ');
      errors.push(problem(ENGINE_CODE.unknownEventType, `event type '${type}' is not declared in the data model (declared: ${known || 'none'})`, at('type'), 422));
      return undefined;
    }
    const normalised = checkFields(props, def.props, at, 'props', `event '${type}'`, errors);
    if (!normalised) return undefined;
    props = normalised;
  }
  return { id: id!, customerId: customerId!, type, ts: ts!, props };
}

function validateCustomer(item: unknown, at: (field: string) => string, model: DataModel | undefined, errors: IngestProblem[]): ValidCustomer | undefined {
  if (!isObject(item)) {
    errors.push(problem(ENGINE_CODE.wrongType, 'a customer must be an object', at(''), 400));
    return undefined;
  }
  const before = errors.length;
  const id = requireString(item, 'id', MAX_ID_LENGTH, at, errors);
  let attributes: Record<string, unknown> = {};
  if (item.attributes !== undefined && item.attributes !== null) {
    if (!isObject(item.attributes)) errors.push(problem(ENGINE_CODE.wrongType, 'attributes must be an object', at('attributes'), 400));
    else attributes = item.attributes;
  }
  if (errors.length > before) return undefined;
  if (!checkNul(attributes, at('attributes'), errors)) return undefined;
  if (model) {
    const normalised = checkFields(attributes, model.attributes, at, 'attributes', 'the customer model', errors);
    if (!normalised) return undefined;
    attributes = normalised;
  }
  return { id: id!, attributes };
}

/**
 * Checks values against declared fields and normalises them for storage: timestamps become ISO-8601 UTC
 * text, durations milliseconds, so SQL reads one form whatever the client sent. null is allowed anywhere
 * (it means unknown, as in expressions).
 */
function checkFields(
  values: Record<string, unknown>,
  fields: ReadonlyMap<string, FieldDef>,
  at: (field: string) => string,
  group: 'props' | 'attributes',
  owner: string,
  errors: IngestProblem[],
): Record<string, unknown> | undefined {
  const before = errors.length;
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(values)) {
    const field = fields.get(name);
    const where = at(`${group}.${name}`);
    if (!field) {
      const known = [...fields.keys()].sort().join(', ');
      errors.push(problem(ENGINE_CODE.unknownField, `'${name}' is not declared for ${owner} (declared: ${known || 'none'})`, where, 422));
      continue;
    }
    const normalised = coerce(value, field.type);
    if (normalised === INVALID) {
      errors.push(problem(ENGINE_CODE.propType, `'${name}' must be ${describe(field.type)}, got ${jsonType(value)}`, where, 422));
      continue;
    }
    out[name] = normalised;
  }
  return errors.length > before ? undefined : out;
}

const INVALID = Symbol('invalid');

function coerce(value: unknown, type: FieldType): unknown {
  if (value === null) return null;
  switch (type) {
    case 'string':
      return typeof value === 'string' ? value : INVALID;
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? value : INVALID;
    case 'bool':
      return typeof value === 'boolean' ? value : INVALID;
    case 'timestamp': {
      const ms = timestampOf(value);
      return ms === undefined ? INVALID : formatTimestamp(ms);
    }
    case 'duration': {
      const ms = typeof value === 'number' ? value : typeof value === 'string' ? parseDuration(value) : NaN;
      return Number.isFinite(ms) && ms >= 0 ? ms : INVALID;
    }
    case 'list<string>':
    case 'list<number>':
    case 'list<bool>':
    case 'list<timestamp>': {
      if (!Array.isArray(value)) return INVALID;
      const inner = type.slice(5, -1) as FieldType;
      const out: unknown[] = [];
      for (const v of value) {
        const c = v === null ? INVALID : coerce(v, inner);
        if (c === INVALID) return INVALID;
        out.push(c);
      }
      return out;
    }
  }
}

function describe(type: FieldType): string {
  switch (type) {
    case 'timestamp':
      return 'a timestamp (ISO-8601 text or epoch milliseconds)';
    case 'duration':
      return 'a duration (e.g. "30d", or milliseconds)';
    case 'bool':
      return 'a boolean';
    default:
      return type.startsWith('list<') ? `a list of ${type.slice(5, -1)}` : `a ${type}`;
  }
}

function timestampOf(value: unknown): number | undefined {
  let ms: number;
  if (typeof value === 'number') ms = Number.isInteger(value) ? value : NaN;
  else if (typeof value === 'string') ms = parseTimestamp(value);
  else return undefined;
  return Number.isFinite(ms) && ms >= MIN_TIMESTAMP && ms <= MAX_TIMESTAMP ? ms : undefined;
}

function requireString(item: Record<string, unknown>, key: string, max: number, at: (f: string) => string, errors: IngestProblem[]): string | undefined {
  const value = item[key];
  if (value === undefined || value === null) {
    errors.push(problem(ENGINE_CODE.missingField, `${key} is required`, at(key), 400));
    return undefined;
  }
  if (typeof value !== 'string') {
    errors.push(problem(ENGINE_CODE.wrongType, `${key} must be a string, got ${jsonType(value)}`, at(key), 400));
    return undefined;
  }
  if (value.length === 0 || value.length > max || !storable(value)) {
    errors.push(problem(ENGINE_CODE.invalidValue, `${key} must be 1 to ${max} characters long, without NUL or half a surrogate pair`, at(key), 400));
    return undefined;
  }
  return value;
}

function requireTimestamp(item: Record<string, unknown>, key: string, at: (f: string) => string, errors: IngestProblem[]): number | undefined {
  const value = item[key];
  if (value === undefined || value === null) {
    errors.push(problem(ENGINE_CODE.missingField, `${key} is required`, at(key), 400));
    return undefined;
  }
  const ms = timestampOf(value);
  if (ms === undefined) {
    errors.push(problem(ENGINE_CODE.invalidTimestamp, `${key} must be ISO-8601 text (2024-05-01T12:00:00Z) or integer epoch milliseconds`, at(key), 400));
  }
  return ms;
}

/**
 * PostgreSQL text and jsonb cannot hold U+0000 nor half a surrogate pair (which JSON can carry as "\\ud800");
 * refuse them here as a 400 rather than fail the INSERT.
 */
function checkNul(value: Record<string, unknown>, field: string, errors: IngestProblem[]): boolean {
  const found = findNul(value, field);
  if (found === undefined) return true;
  errors.push(problem(ENGINE_CODE.invalidValue, 'text must not contain the NUL character (\\u0000) or half a surrogate pair', found, 400));
  return false;
}

/** In a u-mode class, a surrogate matches only when it is not half of a pair. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

function storable(text: string): boolean {
  return !text.includes('\u0000') && !LONE_SURROGATE.test(text);
}

function findNul(value: unknown, field: string): string | undefined {
  if (typeof value === 'string') return storable(value) ? undefined : field;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const f = findNul(value[i], `${field}[${i}]`);
      if (f !== undefined) return f;
    }
    return undefined;
  }
  if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      if (!storable(k)) return `${field}.${k}`;
      const f = findNul(v, `${field}.${k}`);
      if (f !== undefined) return f;
    }
  }
  return undefined;
}

function problem(code: EngineCode, message: string, field: string, status: IngestProblem['status']): IngestProblem {
  return { code, message, field, status };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value === 'string' ? 'a string' : `a ${typeof value}`;
}
