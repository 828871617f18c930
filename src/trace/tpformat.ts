/** Tracepoint record layouts from tracefs (`events/<category>/<name>/format`), for `args->field`. */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { tracefsRoot } from '../kernel/sys/fs.js';

/** How a tracepoint field is read. */
export type TpFieldKind = 'int' | 'ptr' | 'chars' | 'dataloc' | 'array';

/** One field of a tracepoint record. */
export interface TpField {
  name: string;
  /** C type as tracefs spells it. */
  type: string;
  offset: number;
  size: number;
  signed: boolean;
  kind: TpFieldKind;
}

/** Parse the text of a tracefs `format` file into its fields (common_* fields included). */
export function parseTracepointFormat(text: string): TpField[] {
  const out: TpField[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*field:(.*?);\s*offset:(\d+);\s*size:(\d+);\s*signed:(\d+);/.exec(line);
    if (!m) continue;
    const decl = m[1]!.trim();
    const nm = /([A-Za-z_][A-Za-z_0-9]*)\s*(\[[^\]]*\])?$/.exec(decl);
    if (!nm) continue;
    const name = nm[1]!;
    const type = decl.slice(0, nm.index).trim();
    const size = Number(m[3]);
    let kind: TpFieldKind = 'int';
    if (type.startsWith('__data_loc')) kind = 'dataloc';
    else if (nm[2]) kind = /\bchar$/.test(type) ? 'chars' : 'array';
    else if (type.includes('*')) kind = 'ptr';
    else if (![1, 2, 4, 8].includes(size)) kind = 'array';
    out.push({ name, type, offset: Number(m[2]), size, signed: m[4] === '1', kind });
  }
  return out;
}

/** The fields of tracepoint `category:name`, or undefined when tracefs has no such event. */
export function tracepointFields(category: string, name: string): TpField[] | undefined {
  const p = `${tracefsRoot()}/events/${category}/${name}/format`;
  if (!existsSync(p)) return undefined;
  return parseTracepointFormat(readFileSync(p, 'utf8'));
}

/** Every `[category, name]` tracepoint pair in tracefs. */
export function listTracepoints(): [string, string][] {
  const root = `${tracefsRoot()}/events`;
  const out: [string, string][] = [];
  for (const cat of readdirSync(root, { withFileTypes: true })) {
    if (!cat.isDirectory()) continue;
    for (const ev of readdirSync(`${root}/${cat.name}`, { withFileTypes: true })) {
      if (ev.isDirectory()) out.push([cat.name, ev.name]);
    }
  }
  return out;
}
