// `herald sample generate --customers N --seed S --out DIR`: the seeded demo-shop generator.
import path from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_END, generateSample } from '../../dataset/generate-sample.js';
import { groupDigits } from '../../dataset/segment-report.js';
import { parseTimestamp } from '../../dataset/parse-scalars.js';
import { ExitCode, UserError } from '../exit-codes.js';
import type { RegisterCommand } from '../main.js';

function positiveInt(name: string, value: string, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1 || n > max) {
    throw new UserError('HER5200', `--${name} must be a whole number from 1 to ${groupDigits(max)}, got "${value}"`, ExitCode.usage);
  }
  return n;
}

export const register: RegisterCommand = (program: Command, ctx) => {
  const sample = program.command('sample').description('Sample datasets');
  sample
    .command('generate')
    .description('Generate a deterministic demo-shop dataset (the same seed gives byte-identical files)')
    .requiredOption('--customers <n>', 'number of customers')
    .option('--seed <n>', 'random seed', '42')
    .requiredOption('--out <dir>', 'output directory (customers.csv, events.csv, products.csv are overwritten)')
    .option('--end <date>', 'exclusive end of the data (ISO-8601)', new Date(DEFAULT_END).toISOString().slice(0, 10))
    .option('--days <n>', 'days of history', '730')
    .option('--products <n>', 'catalogue size (default grows with customers, 200..5,000)')
    .action((opts: { customers: string; seed: string; out: string; end: string; days: string; products?: string }) => {
      const customers = positiveInt('customers', opts.customers, 20_000_000);
      const seedText = opts.seed.trim();
      if (!/^\d+$/.test(seedText) || Number(seedText) > 0xffffffff) {
        throw new UserError('HER5200', `--seed must be a whole number from 0 to 4294967295, got "${opts.seed}"`, ExitCode.usage);
      }
      const end = parseTimestamp(opts.end.trim());
      if (Number.isNaN(end)) throw new UserError('HER5200', `--end must be an ISO-8601 date, got "${opts.end}"`, ExitCode.usage);
      const days = positiveInt('days', opts.days, 36_500);
      const products = opts.products === undefined ? undefined : positiveInt('products', opts.products, 1_000_000);
      const out = path.resolve(ctx.io.cwd, opts.out);
      const summary = generateSample(out, { customers, seed: Number(seedText), end, days, products });
      const lines = [
        `Generated ${groupDigits(summary.customers)} customers, ${groupDigits(summary.events)} events, ${groupDigits(summary.products)} products in ${opts.out}`,
        `  events: ${Object.entries(summary.byType).map(([t, n]) => `${t} ${groupDigits(n)}`).join(', ')}`,
        `  span: ${summary.first} → ${summary.last}`,
        `  revenue: ${groupDigits(summary.revenue, 2)} (top 10% of customers: ${(summary.top10RevenueShare * 100).toFixed(1)}%)`,
        ...summary.files.map((f) => `  ${path.relative(ctx.io.cwd, f.file) || f.file}  ${groupDigits(f.bytes)} bytes`),
      ];
      ctx.io.out(`${lines.join('\n')}\n`);
      ctx.setExit(ExitCode.ok);
    });
};
