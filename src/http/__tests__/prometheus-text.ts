/**
 * A strict reader of the Prometheus text exposition format (0.0.4), for tests: `# HELP` and
 * `# TYPE` lines, samples `name{label="value",…} value`, label values with `\\`, `\"`, `\n`
 * escapes. It throws on any line it cannot read, on a sample whose metric has no `# TYPE` before
 * it, on a second `# TYPE` for one metric, and on histogram buckets that are not cumulative or
 * whose `+Inf` bucket differs from `_count` — what a Prometheus server would reject or misread.
 */

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Exposition {
  readonly types: ReadonlyMap<string, string>;
  readonly help: ReadonlyMap<string, string>;
  readonly samples: readonly Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

export function parsePrometheusText(text: string): Exposition {
  if (text !== '' && !text.endsWith('\n')) throw new Error('the exposition must end with a line feed');
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const samples: Sample[] = [];
  text.split('\n').forEach((line, i) => {
    if (line === '') return;
    const fail = (why: string) => new Error(`line ${i + 1}: ${why}: ${JSON.stringify(line)}`);
    const comment = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (comment) {
      const [, kind, name, rest] = comment as unknown as [string, string, string, string];
      if (kind === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) throw fail('unknown type');
        if (types.has(name)) throw fail('second TYPE line');
        types.set(name, rest);
      } else help.set(name, rest);
      return;
    }
    if (line.startsWith('#')) return;
    const sample = readSample(line, fail);
    const family = familyOf(sample.name, types);
    if (!family) throw fail('sample before its TYPE line');
    samples.push(sample);
  });
  checkHistograms(types, samples);
  return { types, help, samples };
}

/** Samples named `name` whose labels include every one of `labels`. */
export function samplesOf(exposition: Exposition, name: string, labels: Record<string, string> = {}): Sample[] {
  return exposition.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

function readSample(line: string, fail: (why: string) => Error): Sample {
  const name = NAME.exec(line)?.[0];
  if (!name) throw fail('no metric name');
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    rest = rest.slice(1);
    while (!rest.startsWith('}')) {
      const labelName = LABEL_NAME.exec(rest)?.[0];
      if (!labelName || rest[labelName.length] !== '=' || rest[labelName.length + 1] !== '"') throw fail('bad label');
      rest = rest.slice(labelName.length + 2);
      let value = '';
      for (;;) {
        const c = rest[0];
        if (c === undefined) throw fail('unterminated label value');
        rest = rest.slice(1);
        if (c === '"') break;
        if (c === '\\') {
          const e = rest[0];
          rest = rest.slice(1);
          if (e === 'n') value += '\n';
          else if (e === '\\' || e === '"') value += e;
          else throw fail('bad escape');
        } else value += c;
      }
      if (Object.hasOwn(labels, labelName)) throw fail('repeated label');
      labels[labelName] = value;
      if (rest.startsWith(',')) rest = rest.slice(1);
      else if (!rest.startsWith('}')) throw fail('expected , or }');
    }
    rest = rest.slice(1);
  }
  const fields = rest.trim().split(/\s+/);
  if (!rest.startsWith(' ') || fields.length < 1 || fields.length > 2) throw fail('expected one space, a value and an optional timestamp');
  const value = readValue(fields[0]!);
  if (value === undefined) throw fail('bad value');
  return { name, labels, value };
}

function readValue(text: string): number | undefined {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  return /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text) ? Number(text) : undefined;
}

function familyOf(name: string, types: ReadonlyMap<string, string>): string | undefined {
  if (types.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    const base = name.endsWith(suffix) ? name.slice(0, -suffix.length) : undefined;
    if (base !== undefined && (types.get(base) === 'histogram' || types.get(base) === 'summary')) return base;
  }
  return undefined;
}

function checkHistograms(types: ReadonlyMap<string, string>, samples: readonly Sample[]): void {
  for (const [family, type] of types) {
    if (type !== 'histogram') continue;
    const series = new Map<string, { buckets: { le: number; value: number }[]; count?: number }>();
    const keyOf = (labels: Readonly<Record<string, string>>) => JSON.stringify(Object.entries(labels).filter(([k]) => k !== 'le').sort());
    for (const s of samples) {
      const key = keyOf(s.labels);
      const entry = series.get(key) ?? { buckets: [] };
      series.set(key, entry);
      if (s.name === `${family}_bucket`) {
        if (s.labels.le === undefined) throw new Error(`${family}: a bucket without le`);
        entry.buckets.push({ le: readValue(s.labels.le)!, value: s.value });
      } else if (s.name === `${family}_count`) entry.count = s.value;
    }
    for (const [key, { buckets, count }] of series) {
      if (buckets.length === 0) continue;
      buckets.forEach((b, i) => {
        if (i > 0 && !(b.le > buckets[i - 1]!.le && b.value >= buckets[i - 1]!.value)) throw new Error(`${family}${key}: buckets not increasing and cumulative at le=${b.le}`);
      });
      const last = buckets[buckets.length - 1]!;
      if (last.le !== Infinity) throw new Error(`${family}${key}: no +Inf bucket`);
      if (count !== last.value) throw new Error(`${family}${key}: _count ${count} differs from the +Inf bucket ${last.value}`);
    }
  }
}
