// Builds small projects in a temp directory so each bad-input test changes one thing, and finds the
// expected line:column of a marker in a file so position assertions stay exact and readable.
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const BASE_PROJECT = `apiVersion: herald/v1
kind: Project
metadata: { name: shop }
spec:
  currency: EUR
  timezone: Europe/Berlin
  customer:
    id: id
    attributes:
      email: { type: string, pii: email }
      phone: { type: string, pii: phone }
      first_name: string
      timezone: string
      email_opt_in: bool
      sms_opt_in: bool
      push_endpoint: string
      push_opt_in: bool
      signed_up_at: timestamp
  events:
    signup: {}
    product_view: { product_id: string, price: number }
    purchase: { order_id: string, amount: number, product_ids: "list<string>" }
  rfm: { window: 365d, monetary: purchase.amount }
`;

export const BASE_CHANNELS = `apiVersion: herald/v1
kind: Channel
metadata: { name: email }
spec:
  type: email
  address: email
  consent: email_opt_in
  provider: { kind: smtp, url: { env: SMTP_URL } }
  simulate: { delivered: 0.95, opened: 0.2, clicked: 0.03 }
---
apiVersion: herald/v1
kind: Channel
metadata: { name: sms }
spec:
  type: sms
  address: phone
  consent: sms_opt_in
  cost: { per: segment, amount: 0.06 }
  provider: { kind: http, url: { env: SMS_URL }, token: { env: SMS_TOKEN } }
`;

export const BASE_TEMPLATES = `apiVersion: herald/v1
kind: Template
metadata: { name: hello }
spec:
  email:
    subject: "Hello {{first_name}}"
    text: "Hi! Unsubscribe: {{unsubscribe_url}}"
  sms: "Hi {{first_name}}"
`;

export function makeProject(files: Record<string, string | null>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'herald-cfg-'));
  const all: Record<string, string | null> = {
    'herald.yaml': BASE_PROJECT,
    'channels.yaml': BASE_CHANNELS,
    'templates.yaml': BASE_TEMPLATES,
    ...files,
  };
  for (const [name, text] of Object.entries(all)) {
    if (text === null) continue;
    const full = path.join(dir, name);
    mkdirSync(path.dirname(full), { recursive: true });
    writeFileSync(full, text);
  }
  return dir;
}

/** 1-based line and column of the first occurrence of `needle` (after `after`, if given). */
export function positionOf(text: string, needle: string, after?: string): { line: number; column: number } {
  const from = after ? text.indexOf(after) : 0;
  if (from < 0) throw new Error(`marker ${after} not found`);
  const offset = text.indexOf(needle, from);
  if (offset < 0) throw new Error(`needle ${needle} not found`);
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return { line, column };
}
