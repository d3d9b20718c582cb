// Durations as written in YAML and expressions: 30s, 15m, 12h, 30d, 2w, 1h30m (also ms).
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export function parseDuration(text: string): number | undefined {
  const re = /([0-9]+)(ms|s|m|h|d|w)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    total += Number(m[1]) * UNIT_MS[m[2]];
    matched = re.lastIndex;
  }
  return matched === text.length && text.length > 0 ? total : undefined;
}

export function formatDuration(ms: number): string {
  const units: [string, number][] = [['w', 604_800_000], ['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]];
  if (ms === 0) return '0s';
  // Weeks only when they are whole: "30d" reads better than "4w2d".
  const list = ms % 604_800_000 === 0 ? units : units.slice(1);
  let rest = ms;
  let out = '';
  for (const [u, size] of list) {
    if (rest >= size) {
      const n = Math.floor(rest / size);
      out += `${n}${u}`;
      rest -= n * size;
    }
  }
  return out;
}

/** "10%" or 0.1 → 0.1 */
export function parseShare(value: string | number): number {
  return typeof value === 'number' ? value : Number(value.slice(0, -1)) / 100;
}
