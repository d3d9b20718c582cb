// Handlebars positions are (line 1-based, column 0-based) from its jison lexer; diagnostics carry offsets into
// the template text (STYLE habit 2). The lexer counts `\r\n`, a lone `\r` and `\n` each as one line break
// (its rule is /(?:\r\n?|\n).*/g), so line starts are found the same way here.
import type { Span } from '../diagnostics/diagnostic.js';

export interface HbsPosition {
  line: number;
  column: number;
}

export class TemplateOffsets {
  private readonly lineStarts: number[];

  constructor(readonly text: string) {
    const starts = [0];
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 13 /* \r */) {
        if (text.charCodeAt(i + 1) === 10) i++;
        starts.push(i + 1);
      } else if (c === 10 /* \n */) {
        starts.push(i + 1);
      }
    }
    this.lineStarts = starts;
  }

  offset(pos: HbsPosition): number {
    const start = this.lineStarts[Math.max(0, Math.min(pos.line - 1, this.lineStarts.length - 1))];
    return Math.max(0, Math.min(start + pos.column, this.text.length));
  }

  span(loc: { start: HbsPosition; end: HbsPosition } | undefined | null): Span {
    if (!loc) return { start: 0, end: this.text.length };
    const start = this.offset(loc.start);
    return { start, end: Math.max(start, this.offset(loc.end)) };
  }
}
