// Parser for the CDNOW transaction files (Fader & Hardie; ../shared/datasets/cdnow/SOURCE.md), used by the
// tests and the benchmark to check the fits against the published results.
//
// Both layouts are whitespace-separated with a YYYYMMDD date, the number of CDs and the dollar value as the
// last three fields: the master file has `customer_id date cds value` (plus a header line added by
// lifetimes), the 1/10th sample `master_id sample_id date cds value`. The customer is the field before the
// date, so the sample's own ids (0001…2357) are used.
import { transactionsFromRows, type ClvTransactions } from './summary.js';

export interface CdnowData {
  /** Customer ids in first-seen order; index i is row i of `transactions`. */
  customerIds: string[];
  transactions: ClvTransactions;
  /** Lines that were neither data nor the header, 1-based. */
  skippedLines: number[];
}

export function parseCdnow(text: string): CdnowData {
  const ids = new Map<string, number>();
  const customerIds: string[] = [];
  const customer: number[] = [];
  const ts: number[] = [];
  const amount: number[] = [];
  const skippedLines: number[] = [];
  const lines = text.split(/\r?\n/);
  for (let ln = 0; ln < lines.length; ln++) {
    const fields = lines[ln].trim().split(/\s+/);
    if (fields.length === 1 && fields[0] === '') continue;
    const date = fields[fields.length - 3] ?? '';
    const value = Number(fields[fields.length - 1]);
    const m = /^(\d{4})(\d{2})(\d{2})$/.exec(date);
    if (fields.length < 4 || m === null || !Number.isFinite(value)) {
      if (!(ln === 0 && /customer/i.test(lines[ln]))) skippedLines.push(ln + 1);
      continue;
    }
    const id = fields[fields.length - 4];
    let k = ids.get(id);
    if (k === undefined) {
      k = customerIds.length;
      ids.set(id, k);
      customerIds.push(id);
    }
    customer.push(k);
    ts.push(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
    amount.push(value);
  }
  return { customerIds, transactions: transactionsFromRows(customer, ts, amount, customerIds.length), skippedLines };
}
