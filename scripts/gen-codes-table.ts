// Regenerates the diagnostics table in README.md from the code lists in src/ (between the markers).
// `npm run docs` writes it; test/docs/readme-codes.test.ts fails when the README is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderCodesTable } from '../src/cli/codes-table.js';

const readme = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../README.md');
const text = readFileSync(readme, 'utf8');
const begin = '<!-- codes:begin -->';
const end = '<!-- codes:end -->';
const a = text.indexOf(begin);
const b = text.indexOf(end);
if (a < 0 || b < 0) throw new Error('README.md lacks the codes markers');
writeFileSync(readme, `${text.slice(0, a + begin.length)}\n${renderCodesTable()}${text.slice(b)}`);
console.log('README.md codes table updated');
