// A binary min-heap ordered by (at, seq): the simulation's agenda. `seq` breaks ties in insertion order,
// which keeps the plan deterministic. The keys live in typed arrays beside the items: sifting compares
// them without loading an item per comparison (the agenda holds ~10^5 items, mostly cache misses).
export interface Scheduled {
  at: number;
  seq: number;
}

export class MinHeap<T extends Scheduled> {
  private items: T[] = [];
  private ats = new Float64Array(1024);
  private seqs = new Float64Array(1024);
  private length = 0;

  get size(): number {
    return this.length;
  }

  peek(): T | undefined {
    return this.length > 0 ? this.items[0] : undefined;
  }

  push(item: T): void {
    if (this.length === this.ats.length) this.grow();
    const { items, ats, seqs } = this;
    const at = item.at;
    const seq = item.seq;
    let i = this.length++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!(at < ats[p] || (at === ats[p] && seq < seqs[p]))) break;
      items[i] = items[p];
      ats[i] = ats[p];
      seqs[i] = seqs[p];
      i = p;
    }
    items[i] = item;
    ats[i] = at;
    seqs[i] = seq;
  }

  pop(): T | undefined {
    if (this.length === 0) return undefined;
    const { items, ats, seqs } = this;
    const top = items[0];
    const n = --this.length;
    const last = items.pop()!;
    const at = ats[n];
    const seq = seqs[n];
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        let m = l;
        if (r < n && (ats[r] < ats[l] || (ats[r] === ats[l] && seqs[r] < seqs[l]))) m = r;
        if (!(ats[m] < at || (ats[m] === at && seqs[m] < seq))) break;
        items[i] = items[m];
        ats[i] = ats[m];
        seqs[i] = seqs[m];
        i = m;
      }
      items[i] = last;
      ats[i] = at;
      seqs[i] = seq;
    }
    return top;
  }

  private grow(): void {
    const ats = new Float64Array(this.ats.length * 2);
    ats.set(this.ats);
    this.ats = ats;
    const seqs = new Float64Array(this.seqs.length * 2);
    seqs.set(this.seqs);
    this.seqs = seqs;
  }
}
