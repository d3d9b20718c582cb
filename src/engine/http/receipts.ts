// Delivery receipts (DESIGN §6): `POST /v1/receipts/:channel`, signed by the provider (or its adapter) with
// Herald-Signature over the raw body and the channel's secret (channels/webhook-signature.ts). Receipts are
// stored keyed by (channel, provider event id), so a provider's retry is stored once; the journey worker
// (worker/process-receipts.ts) feeds them to runs. The reply is sent after the rows are committed.
//
// Body: one receipt `{ id, message_id, status, at }` or `{ receipts: [...] }`; `id` is the provider's event
// id, `message_id` Herald's message id (the outbox id), `at` ISO-8601 or epoch milliseconds.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { SIGNATURE_HEADER, verifyWebhookSignature } from '../../channels/webhook-signature.js';
import type { Clock } from '../clock.js';
import { ENGINE_CODE, type EngineCode } from '../codes.js';
import type { Store } from '../store/open-store.js';

export const RECEIPT_STATUSES = ['delivered', 'opened', 'clicked', 'failed', 'bounced', 'complained'] as const;
export type ReceiptStatus = (typeof RECEIPT_STATUSES)[number];

/** How far a signature's `t` may be from the engine's clock. */
export const RECEIPT_TOLERANCE_SEC = 300;
const MAX_ID_LENGTH = 256;
const MIN_TIMESTAMP = new Date('0001-01-01T00:00:00Z').getTime();
const MAX_TIMESTAMP = new Date('9999-12-31T23:59:59.999Z').getTime();

export interface ReceiptProblem {
  code: EngineCode;
  message: string;
  field: string;
}

export interface ValidReceipt {
  id: string;
  messageId: string;
  status: ReceiptStatus;
  at: number;
  payload: Record<string, unknown>;
}

export interface ReceiptRoutesOptions {
  store: Store;
  clock: Clock;
  /** channel name → secret (or secrets, while one is rotated). */
  secrets: Readonly<Record<string, string | readonly string[]>>;
  maxBatch: number;
  refuse: (reply: FastifyReply, status: number, problems: readonly ReceiptProblem[]) => FastifyReply;
}

/** Registers the route in its own encapsulated context, whose JSON parser keeps the raw body. */
export async function registerReceiptRoutes(app: FastifyInstance, options: ReceiptRoutesOptions): Promise<void> {
  await app.register(async (scope) => {
    // The signature covers the bytes as sent: keep the string, parse it in the handler.
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => done(null, body));

    scope.post<{ Params: { channel: string } }>('/v1/receipts/:channel', async (request, reply) => {
      const { channel } = request.params;
      const secret = Object.prototype.hasOwnProperty.call(options.secrets, channel) ? options.secrets[channel] : undefined;
      if (secret === undefined) {
        return options.refuse(reply, 404, [{ code: ENGINE_CODE.noReceiptSecret, message: `no receipt secret is configured for channel "${channel}"`, field: 'params.channel' }]);
      }
      const raw = typeof request.body === 'string' ? request.body : '';
      const header = request.headers[SIGNATURE_HEADER.toLowerCase()];
      const verdict = verifyWebhookSignature(raw, Array.isArray(header) ? header[0] : header, secret, RECEIPT_TOLERANCE_SEC, options.clock.now());
      if (verdict.kind === 'invalid') {
        const why = { malformed_header: 'missing or malformed', timestamp_out_of_tolerance: 'too old (or from the future)', signature_mismatch: 'not matching' }[verdict.reason];
        return options.refuse(reply, 401, [{ code: ENGINE_CODE.badSignature, message: `the ${SIGNATURE_HEADER} header is ${why}`, field: `headers.${SIGNATURE_HEADER.toLowerCase()}` }]);
      }
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        return options.refuse(reply, 400, [{ code: ENGINE_CODE.invalidJson, message: 'the body is not valid JSON', field: '' }]);
      }
      const checked = validateReceipts(body, options.maxBatch);
      if (checked.errors.length) return options.refuse(reply, checked.tooLarge ? 413 : 400, checked.errors);
      const outcomes = await insertReceipts(options.store, channel, checked.value, options.clock.now());
      const results = checked.value.map((r, i) => ({ id: r.id, message_id: r.messageId, status: outcomes[i] ? 'inserted' : 'duplicate' }));
      if (checked.single) return reply.send(results[0]);
      const inserted = outcomes.filter(Boolean).length;
      return reply.send({ inserted, duplicates: outcomes.length - inserted, results });
    });
  });
}

/** Inserts in one transaction; true for each receipt stored now, false for a duplicate. */
export async function insertReceipts(store: Store, channel: string, receipts: readonly ValidReceipt[], receivedAt: number): Promise<boolean[]> {
  return store.db.transaction(async (trx) => {
    const out: boolean[] = [];
    for (const r of receipts) {
      // customer_id comes from the outbox row of the message (NULL when the message is unknown).
      const res = await trx.raw(
        `INSERT INTO receipts (channel, provider_event_id, message_id, customer_id, status, at, received_at, payload)
         VALUES (?, ?, ?, (SELECT customer_id FROM outbox WHERE id = ? AND channel = ? LIMIT 1), ?, ?, ?, ?::jsonb)
         ON CONFLICT (channel, provider_event_id) DO NOTHING RETURNING provider_event_id`,
        [channel, r.id, r.messageId, r.messageId, channel, r.status, new Date(r.at), new Date(receivedAt), JSON.stringify(r.payload)],
      );
      out.push(res.rows.length > 0);
    }
    return out;
  });
}

export function validateReceipts(body: unknown, maxBatch: number): { value: ValidReceipt[]; errors: ReceiptProblem[]; single: boolean; tooLarge: boolean } {
  const errors: ReceiptProblem[] = [];
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(body)) return { value: [], errors: [{ code: ENGINE_CODE.wrongType, message: 'the body must be a JSON object', field: '' }], single: true, tooLarge: false };
  const single = !('receipts' in body);
  let items: unknown[];
  if (single) items = [body];
  else if (!Array.isArray(body.receipts)) return { value: [], errors: [{ code: ENGINE_CODE.wrongType, message: 'receipts must be an array', field: 'receipts' }], single, tooLarge: false };
  else items = body.receipts;
  if (!single && items.length === 0) return { value: [], errors: [{ code: ENGINE_CODE.invalidValue, message: 'receipts is empty', field: 'receipts' }], single, tooLarge: false };
  if (items.length > maxBatch) {
    return { value: [], errors: [{ code: ENGINE_CODE.batchTooLarge, message: `at most ${maxBatch} receipts per request`, field: 'receipts' }], single, tooLarge: true };
  }
  const value: ValidReceipt[] = [];
  items.forEach((item, i) => {
    const at = (f: string) => (single ? f : `receipts[${i}].${f}`);
    if (!isObject(item)) {
      errors.push({ code: ENGINE_CODE.wrongType, message: 'a receipt must be a JSON object', field: single ? '' : `receipts[${i}]` });
      return;
    }
    const before = errors.length;
    const str = (key: string): string | undefined => {
      const v = item[key];
      if (v === undefined || v === null) errors.push({ code: ENGINE_CODE.missingField, message: `${key} is required`, field: at(key) });
      else if (typeof v !== 'string') errors.push({ code: ENGINE_CODE.wrongType, message: `${key} must be a string`, field: at(key) });
      else if (v.length === 0 || v.length > MAX_ID_LENGTH) errors.push({ code: ENGINE_CODE.invalidValue, message: `${key} must be 1 to ${MAX_ID_LENGTH} characters`, field: at(key) });
      else return v;
      return undefined;
    };
    const id = str('id');
    const messageId = str('message_id');
    const status = str('status');
    if (status !== undefined && !(RECEIPT_STATUSES as readonly string[]).includes(status)) {
      errors.push({ code: ENGINE_CODE.invalidValue, message: `status must be one of ${RECEIPT_STATUSES.join(', ')}`, field: at('status') });
    }
    const ts = parseTimestamp(item.at);
    if (item.at === undefined || item.at === null) errors.push({ code: ENGINE_CODE.missingField, message: 'at is required', field: at('at') });
    else if (ts === undefined) errors.push({ code: ENGINE_CODE.invalidTimestamp, message: 'at must be an ISO-8601 timestamp or epoch milliseconds', field: at('at') });
    if (errors.length > before) return;
    value.push({ id: id!, messageId: messageId!, status: status as ReceiptStatus, at: ts!, payload: item });
  });
  return { value, errors: errors.slice(0, 100), single, tooLarge: false };
}

function parseTimestamp(v: unknown): number | undefined {
  let t: number | undefined;
  if (typeof v === 'number' && Number.isInteger(v)) t = v;
  else if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(v)) t = Date.parse(v);
  return t !== undefined && Number.isFinite(t) && t >= MIN_TIMESTAMP && t <= MAX_TIMESTAMP ? t : undefined;
}
