// Every diagnostic code Herald emits, in one table (the README's is generated from this).
import { CONFIG_CODES } from '../config/codes.js';
import { EXPR_CODES } from '../expr/codes.js';
import { TEMPLATE_CODES } from '../templates/codes.js';

export interface CodeEntry {
  code: string;
  title: string;
}

export function allCodes(extra: readonly CodeEntry[] = []): CodeEntry[] {
  return [...CONFIG_CODES, ...EXPR_CODES, ...TEMPLATE_CODES, ...extra].sort((a, b) => a.code.localeCompare(b.code));
}

export function renderCodesTable(extra: readonly CodeEntry[] = []): string {
  const rows = allCodes(extra).map((c) => `| ${c.code} | ${c.title.replace(/\|/g, '\\|')} |`);
  return ['| code | meaning |', '| --- | --- |', ...rows, ''].join('\n');
}
