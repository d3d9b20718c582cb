// Masking of personal data in samples and plan output (DESIGN §5: emails and phones are masked unless
// --unmask). Masks keep just enough to recognise a value you already know, and hide lengths.
import type { FieldDef } from '../model/data-model.js';

/** 'anna.schmidt@example.com' → 'a***@e***.com'. Text that is not an email becomes '***'. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at <= 0 || at === email.length - 1) return '***';
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  const dot = domain.lastIndexOf('.');
  const tld = dot > 0 ? domain.slice(dot) : '';
  return `${local[0]}***@${domain[0]}***${tld}`;
}

/** '+4915112345678' → '+49******5678': the first two digits, a fixed six stars, the last four digits. */
export function maskPhone(phone: string): string {
  const digits = phone.replace(/\D/g, '');
  const plus = phone.trimStart().startsWith('+') ? '+' : '';
  if (digits.length < 7) return `${plus}******`;
  return `${plus}${digits.slice(0, 2)}******${digits.slice(-4)}`;
}

/** The value with its field's pii mask applied (email and phone; other values pass through). */
export function maskValue(field: FieldDef | undefined, value: unknown): unknown {
  if (typeof value !== 'string' || !field?.pii) return value;
  if (field.pii === 'email') return maskEmail(value);
  if (field.pii === 'phone') return maskPhone(value);
  return value;
}
