// Load-time warnings about what an SMS template will cost, from its fixed text alone (the values are not known
// until render; the plan counts real segments per rendered message).
import type { SpanDiagnostic } from '../diagnostics/diagnostic.js';
import { TEMPLATE_CODE } from './codes.js';
import type { TemplateAst } from './compile-template.js';
import { SMS_LIMITS, countSmsSegments, firstNonGsm7, type SmsEncoding } from './sms-segments.js';
import { TemplateOffsets } from './template-offsets.js';

// Look-alikes editors and phones insert for plain characters; each alone turns a message into UCS-2.
const GSM_REPLACEMENTS: Record<string, string> = {
  '\u2018': "'",
  '\u2019': "'",
  '\u201c': '"',
  '\u201d': '"',
  '\u2026': '...',
  '\u2013': '-',
  '\u2014': '-',
  '\u00a0': ' ',
  '\u202f': ' ',
};

export interface SmsCheckOptions {
  /** Warn when the fixed text alone needs more segments than this (default 1). */
  maxSegments?: number;
}

export function checkSmsText(ast: TemplateAst, source: string, options: SmsCheckOptions = {}): SpanDiagnostic[] {
  const offsets = new TemplateOffsets(source);
  const diagnostics: SpanDiagnostic[] = [];
  let reportedUcs2 = false;
  let fixed = '';

  const visit = (program: hbs.AST.Program | undefined, topLevel: boolean): void => {
    for (const node of program?.body ?? []) {
      if (node.type === 'ContentStatement') {
        const content = node as hbs.AST.ContentStatement;
        if (topLevel) fixed += content.value;
        const original = String(content.original);
        const i = firstNonGsm7(original);
        if (i >= 0 && !reportedUcs2) {
          reportedUcs2 = true;
          const start = offsets.offset(content.loc.start) + i;
          const cp = original.codePointAt(i)!;
          const ch = String.fromCodePoint(cp);
          const replacement = GSM_REPLACEMENTS[ch];
          diagnostics.push({
            code: TEMPLATE_CODE.smsUcs2,
            severity: 'warning',
            message: `'${ch}' (U+${cp.toString(16).toUpperCase().padStart(4, '0')}) is not in the GSM-7 alphabet: an SMS containing it is sent as UCS-2, 70 characters per segment instead of 160`,
            span: { start, end: start + ch.length },
            ...(replacement !== undefined ? { hint: `write ${JSON.stringify(replacement)} instead` } : {}),
          });
        }
      } else if (node.type === 'BlockStatement') {
        const block = node as hbs.AST.BlockStatement;
        visit(block.program, false);
        visit(block.inverse, false);
      }
    }
  };
  visit(ast, true);

  const max = options.maxSegments ?? 1;
  const count = countSmsSegments(fixed);
  if (count.segments > max) {
    diagnostics.push({
      code: TEMPLATE_CODE.smsTooLong,
      severity: 'warning',
      message: `the fixed text of this SMS alone needs ${count.segments} segments (${count.units} ${count.encoding === 'gsm7' ? 'GSM-7 characters' : 'UCS-2 units'}); every send costs at least that`,
      span: { start: 0, end: source.length },
      hint: `keep it within ${max === 1 ? 'one segment' : `${max} segments`} (${capacity(count.encoding, max)} characters in ${count.encoding === 'gsm7' ? 'GSM-7' : 'UCS-2'})`,
    });
  }
  return diagnostics;
}

function capacity(encoding: SmsEncoding, segments: number): number {
  const limits = SMS_LIMITS[encoding];
  return segments <= 1 ? limits.single : limits.multipart * segments;
}
