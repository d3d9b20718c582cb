// Loads the UCI Online Retail file (../shared/datasets/uci-online-retail/SOURCE.md) as CLV transactions:
// one row per invoice line with a customer, positive quantity and positive price, not a cancellation
// ("C" invoices); the value is quantity × unit price. InvoiceDate is UK local time without a zone and is read
// as UTC: the models count whole days, and the one-hour summer offset moves no invoice across midnight
// (the shop's invoices are between 06:00 and 21:00).
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { transactionsFromRows, type ClvTransactions } from '../../../src/analytics/clv/summary.js';

export interface OnlineRetail {
  customerIds: string[];
  transactions: ClvTransactions;
  lines: number;
  kept: number;
}

/** Split one CSV line (RFC 4180 quoting; the file has no line breaks inside fields). */
function splitCsv(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

export function loadOnlineRetail(file: string): OnlineRetail {
  const text = gunzipSync(readFileSync(file)).toString('utf8');
  const lines = text.split('\n');
  const ids = new Map<string, number>();
  const customerIds: string[] = [];
  const customer: number[] = [];
  const ts: number[] = [];
  const amount: number[] = [];
  let count = 0;
  for (let k = 1; k < lines.length; k++) {
    const line = lines[k];
    if (line === '') continue;
    count++;
    const f = splitCsv(line);
    const [invoice, , , qty, date, price, cust] = f;
    if (cust === '' || invoice.startsWith('C')) continue;
    const q = Number(qty);
    const p = Number(price);
    if (!(q > 0 && p > 0)) continue;
    const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2})/.exec(date);
    if (m === null) continue;
    let c = ids.get(cust);
    if (c === undefined) {
      c = customerIds.length;
      ids.set(cust, c);
      customerIds.push(cust);
    }
    customer.push(c);
    ts.push(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]));
    amount.push(q * p);
  }
  return {
    customerIds,
    transactions: transactionsFromRows(customer, ts, amount, customerIds.length),
    lines: count,
    kept: customer.length,
  };
}
