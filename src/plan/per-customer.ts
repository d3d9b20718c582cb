// A value per customer index for the few customers that have one: a typed index into a dense array.
// Maps keyed by customer index grow into hash tables of a million entries; this stays flat.
export class PerCustomer<T> {
  private readonly slot: Int32Array;
  private readonly values: T[] = [];

  constructor(customers: number) {
    this.slot = new Int32Array(customers).fill(-1);
  }

  get(customer: number): T | undefined {
    const k = this.slot[customer];
    return k < 0 ? undefined : this.values[k];
  }

  set(customer: number, value: T): void {
    const k = this.slot[customer];
    if (k < 0) {
      this.slot[customer] = this.values.length;
      this.values.push(value);
    } else this.values[k] = value;
  }
}
