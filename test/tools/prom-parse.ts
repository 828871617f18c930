/** A strict parser of the Prometheus text exposition format (0.0.4) for the export tests. */

/** One sample line. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parsed exposition: families (HELP, TYPE) and samples in order. */
export interface PromDoc {
  types: Map<string, string>;
  help: Map<string, string>;
  samples: PromSample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*';

function parseValue(s: string, line: number): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  if (!/^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new Error(`line ${line}: bad value "${s}"`);
  return Number(s);
}

function unescapeLabel(s: string, line: number): string {
  return s.replace(/\\(.)/g, (_, c: string) => {
    if (c === 'n') return '\n';
    if (c === '\\' || c === '"') return c;
    throw new Error(`line ${line}: bad escape \\${c}`);
  });
}

/** Parse; throws on any line that is not a valid comment, HELP, TYPE or sample, or on sample/TYPE inconsistencies. */
export function parsePrometheus(text: string): PromDoc {
  if (text.length && !text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const doc: PromDoc = { types: new Map(), help: new Map(), samples: [] };
  const lines = text.split('\n').slice(0, -1);
  lines.forEach((l, i) => {
    const n = i + 1;
    let m: RegExpExecArray | null;
    if ((m = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(l))) {
      if (doc.help.has(m[1]!)) throw new Error(`line ${n}: second HELP for ${m[1]}`);
      if (/\\[^\\n]/.test(m[2]!.replace(/\\\\/g, ''))) throw new Error(`line ${n}: bad escape in HELP`);
      doc.help.set(m[1]!, m[2]!);
    } else if ((m = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(l))) {
      if (doc.types.has(m[1]!)) throw new Error(`line ${n}: second TYPE for ${m[1]}`);
      if (doc.samples.some((s) => s.name === m![1] || s.name.startsWith(m![1] + '_'))) throw new Error(`line ${n}: TYPE after samples`);
      doc.types.set(m[1]!, m[2]!);
    } else if (l.startsWith('#')) {
      if (/^# (HELP|TYPE)/.test(l)) throw new Error(`line ${n}: malformed ${l}`);
    } else {
      m = new RegExp(`^(${NAME})(\\{(.*)\\})? (\\S+)( -?\\d+)?$`).exec(l);
      if (!m) throw new Error(`line ${n}: not a sample: ${JSON.stringify(l)}`);
      const labels: Record<string, string> = {};
      const body = m[3] ?? '';
      const re = new RegExp(`(${LABEL})="((?:[^"\\\\\\n]|\\\\.)*)"(,|$)`, 'y');
      let at = 0;
      while (at < body.length) {
        re.lastIndex = at;
        const lm = re.exec(body);
        if (!lm) throw new Error(`line ${n}: bad labels {${body}}`);
        if (Object.hasOwn(labels, lm[1]!)) throw new Error(`line ${n}: duplicate label ${lm[1]}`);
        labels[lm[1]!] = unescapeLabel(lm[2]!, n);
        at = re.lastIndex;
        if (lm[3] === ',' && at === body.length) throw new Error(`line ${n}: trailing comma`);
      }
      doc.samples.push({ name: m[1]!, labels, value: parseValue(m[4]!, n) });
    }
  });
  return doc;
}

/** Check every histogram family: per label set, cumulative non-decreasing buckets ending in le="+Inf" = _count, and a _sum. */
export function checkHistograms(doc: PromDoc): number {
  let checked = 0;
  for (const [name, type] of doc.types) {
    if (type !== 'histogram') continue;
    const key = (l: Record<string, string>) => JSON.stringify(Object.entries(l).filter(([k]) => k !== 'le').sort());
    const series = new Map<string, PromSample[]>();
    for (const s of doc.samples.filter((x) => x.name === `${name}_bucket`)) {
      if (!('le' in s.labels)) throw new Error(`${name}_bucket without le`);
      const k = key(s.labels);
      series.set(k, [...(series.get(k) ?? []), s]);
    }
    if (!series.size) throw new Error(`histogram ${name} has no buckets`);
    for (const [k, b] of series) {
      const les = b.map((s) => (s.labels.le === '+Inf' ? Infinity : Number(s.labels.le)));
      for (let i = 1; i < b.length; i++) {
        if (!(les[i]! > les[i - 1]!)) throw new Error(`${name}${k}: le not increasing`);
        if (b[i]!.value < b[i - 1]!.value) throw new Error(`${name}${k}: buckets not cumulative`);
      }
      if (les.at(-1) !== Infinity) throw new Error(`${name}${k}: last bucket is not +Inf`);
      const count = doc.samples.filter((s) => s.name === `${name}_count` && key(s.labels) === k);
      const sum = doc.samples.filter((s) => s.name === `${name}_sum` && key(s.labels) === k);
      if (count.length !== 1 || sum.length !== 1) throw new Error(`${name}${k}: needs one _count and one _sum`);
      if (count[0]!.value !== b.at(-1)!.value) throw new Error(`${name}${k}: +Inf bucket ${b.at(-1)!.value} != _count ${count[0]!.value}`);
      checked++;
    }
  }
  return checked;
}
