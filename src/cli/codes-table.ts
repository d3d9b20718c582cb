// Every diagnostic code Herald emits, in one table (the README's is generated from this).
import { CONFIG_CODES } from '../config/codes.js';
import { EXPR_CODES } from '../expr/codes.js';
import { TEMPLATE_CODES } from '../templates/codes.js';
import { DATASET_CODES } from '../dataset/codes.js';
import { CLV_CODES } from '../analytics/clv/codes.js';
import { CHANNEL_CODES } from '../channels/codes.js';
import { SHOW_CODES } from './commands/show.js';
import { ENGINE_CODES } from '../engine/codes.js';

export interface CodeEntry {
  code: string;
  title: string;
}

export function allCodes(extra: readonly CodeEntry[] = []): CodeEntry[] {
  return [...CONFIG_CODES, ...SHOW_CODES, ...EXPR_CODES, ...TEMPLATE_CODES, ...DATASET_CODES, ...CLV_CODES, ...CHANNEL_CODES, ...ENGINE_CODES, ...extra].sort((a, b) => a.code.localeCompare(b.code));
}

export function renderCodesTable(extra: readonly CodeEntry[] = []): string {
  const rows = allCodes(extra).map((c) => `| ${c.code} | ${c.title.replace(/\|/g, '\\|')} |`);
  return ['| code | meaning |', '| --- | --- |', ...rows, ''].join('\n');
}
