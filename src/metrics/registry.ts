// A set of metric families and the text a scrape gets. Counters, gauges and histograms with
// labels are children looked up by their label values (fine off the hot path: a deploy, a DNS
// query, an API call); a hot path keeps the child it looked up once (`labels()` returns the
// same object every time) or registers a collector that reads its own fields at scrape time.
import { checkNames, header, sample, type MetricType } from './exposition.js';
import { checkBounds, HistogramCell } from './histogram.js';

/** Writes one family's sample lines (without HELP/TYPE) at scrape time. */
export type Collect = () => string;

interface Family {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly collect: Collect;
}

export class Counter {
  value = 0;
  inc(n = 1): void {
    this.value += n;
  }
}

export class Gauge {
  value = 0;
  set(v: number): void {
    this.value = v;
  }
  inc(n = 1): void {
    this.value += n;
  }
  dec(n = 1): void {
    this.value -= n;
  }
}

/** Children of one family by label values. */
class Children<C> {
  private readonly byKey = new Map<string, { values: string[]; child: C }>();
  constructor(
    readonly labelNames: readonly string[],
    private readonly make: () => C,
  ) {}

  get(values: readonly string[]): C {
    if (values.length !== this.labelNames.length) throw new Error(`expected ${this.labelNames.length} label values, got ${values.length}`);
    // \u0000 cannot occur in a label value anyone passes us meaningfully; it only separates.
    const key = values.join('\u0000');
    let e = this.byKey.get(key);
    if (!e) this.byKey.set(key, (e = { values: [...values], child: this.make() }));
    return e.child;
  }

  delete(values: readonly string[]): void {
    this.byKey.delete(values.join('\u0000'));
  }

  *entries(): Iterable<[string[], C]> {
    for (const e of this.byKey.values()) yield [e.values, e.child];
  }
}

export class CounterFamily {
  private readonly children: Children<Counter>;
  constructor(readonly name: string, labelNames: readonly string[]) {
    this.children = new Children(labelNames, () => new Counter());
  }
  labels(...values: string[]): Counter {
    return this.children.get(values);
  }
  /** Makes a label set show 0 before its first increment (so rate() sees the first one). */
  touch(...values: string[]): void {
    this.children.get(values);
  }
  collect(): string {
    let out = '';
    for (const [values, c] of this.children.entries()) out += sample(this.name, this.children.labelNames, values, c.value);
    return out;
  }
}

export class GaugeFamily {
  private readonly children: Children<Gauge>;
  constructor(readonly name: string, labelNames: readonly string[]) {
    this.children = new Children(labelNames, () => new Gauge());
  }
  labels(...values: string[]): Gauge {
    return this.children.get(values);
  }
  remove(...values: string[]): void {
    this.children.delete(values);
  }
  collect(): string {
    let out = '';
    for (const [values, g] of this.children.entries()) out += sample(this.name, this.children.labelNames, values, g.value);
    return out;
  }
}

export class HistogramFamily {
  private readonly children: Children<HistogramCell>;
  constructor(readonly name: string, labelNames: readonly string[], bounds: readonly number[]) {
    checkBounds(bounds);
    this.children = new Children(labelNames, () => new HistogramCell(bounds));
  }
  labels(...values: string[]): HistogramCell {
    return this.children.get(values);
  }
  collect(): string {
    let out = '';
    for (const [values, h] of this.children.entries()) out += h.write(this.name, this.children.labelNames, values);
    return out;
  }
}

export class Registry {
  private readonly families = new Map<string, Family>();

  private add(name: string, type: MetricType, help: string, labelNames: readonly string[], collect: Collect): void {
    checkNames(name, type, labelNames);
    if (this.families.has(name)) throw new Error(`metric ${name} registered twice`);
    this.families.set(name, { name, type, help, collect });
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): CounterFamily {
    const f = new CounterFamily(name, labelNames);
    this.add(name, 'counter', help, labelNames, () => f.collect());
    return f;
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): GaugeFamily {
    const f = new GaugeFamily(name, labelNames);
    this.add(name, 'gauge', help, labelNames, () => f.collect());
    return f;
  }

  histogram(name: string, help: string, labelNames: readonly string[], bounds: readonly number[]): HistogramFamily {
    const f = new HistogramFamily(name, labelNames, bounds);
    this.add(name, 'histogram', help, labelNames, () => f.collect());
    return f;
  }

  /**
   * A family whose samples are written by `collect` at scrape time (with `sample()` or
   * `HistogramCell.write()` from this folder), for numbers kept elsewhere as plain fields.
   */
  custom(name: string, type: MetricType, help: string, labelNames: readonly string[], collect: Collect): void {
    this.add(name, type, help, labelNames, collect);
  }

  /** The whole exposition, families in registration order. A family with no samples is left out. */
  expose(): string {
    let out = '';
    for (const f of this.families.values()) {
      const body = f.collect();
      if (body) out += header(f.name, f.type, f.help) + body;
    }
    return out;
  }
}
