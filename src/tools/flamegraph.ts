/**
 * Flame graphs of profile stacks: the folded-stack text (`comm;outer;...;inner count`, Brendan Gregg's format,
 * kernel frames suffixed `_[k]`) and an SVG writer of our own — nested rects sized by sample counts, each
 * with a <title> tooltip; plain SVG 1.1, no script.
 */
import type { ProfileStack } from './profile.js';

/** Name of a frame in folded output. */
function frameName(f: ProfileStack['frames'][number]): string {
  let n = f.name;
  if (n === '[unknown]' && f.module) n = `[${f.module.slice(f.module.lastIndexOf('/') + 1)}]`;
  n = n.replace(/[;\n\r]/g, '_').replace(/ /g, '_');
  return f.kernel ? `${n}_[k]` : n;
}

/** Folded stacks: one line per distinct stack, root (comm) first, merged and sorted. */
export function foldedStacks(stacks: readonly ProfileStack[]): string {
  const merged = new Map<string, number>();
  for (const s of stacks) {
    const path = [s.comm.replace(/[;\s]/g, '_') || '[unknown]', ...[...s.frames].reverse().map(frameName)].join(';');
    merged.set(path, (merged.get(path) ?? 0) + s.count);
  }
  return [...merged].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([p, c]) => `${p} ${c}\n`).join('');
}

interface Node {
  name: string;
  count: number;
  children: Map<string, Node>;
}

/** Parse folded text back into a tree (root = all). */
function tree(folded: string): Node {
  const root: Node = { name: 'all', count: 0, children: new Map() };
  for (const line of folded.split('\n')) {
    const sp = line.lastIndexOf(' ');
    if (sp <= 0) continue;
    const n = Number(line.slice(sp + 1));
    if (!Number.isFinite(n) || n <= 0) continue;
    root.count += n;
    let cur = root;
    for (const name of line.slice(0, sp).split(';')) {
      let c = cur.children.get(name);
      if (!c) cur.children.set(name, (c = { name, count: 0, children: new Map() }));
      c.count += n;
      cur = c;
    }
  }
  return root;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
// Characters XML 1.0 forbids (control characters other than tab/newline/CR) cannot even be escaped.
const clean = (s: string) => s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '?');

/** Options of the SVG writer. */
export interface FlameGraphOptions {
  title?: string;
  width?: number;
  frameHeight?: number;
}

/** A flame graph (SVG text) of folded stacks: root at the bottom, children left to right by name. */
export function flameGraphSvg(folded: string, o: FlameGraphOptions = {}): string {
  const root = tree(folded);
  const width = o.width ?? 1200;
  const fh = o.frameHeight ?? 16;
  const pad = 10;
  const depthOf = (n: Node): number => 1 + Math.max(0, ...[...n.children.values()].map(depthOf));
  const depth = depthOf(root);
  const top = 40;
  const height = top + depth * fh + pad * 2;
  const scale = root.count ? (width - 2 * pad) / root.count : 0;
  const rects: string[] = [];
  const walk = (n: Node, x: number, level: number) => {
    const w = n.count * scale;
    if (w < 0.1) return;
    const y = height - pad - (level + 1) * fh;
    const pct = root.count ? ((100 * n.count) / root.count).toFixed(2) : '0';
    const label = clean(n.name);
    const hue = n.name.endsWith('_[k]') ? 200 : 20 + (hash(n.name) % 40);
    const chars = Math.floor((w - 6) / 7);
    const text = chars >= 3 ? (label.length > chars ? label.slice(0, chars - 2) + '..' : label) : '';
    rects.push(
      `<g><title>${esc(label)} (${n.count} samples, ${pct}%)</title>` +
        `<rect x="${x.toFixed(2)}" y="${y}" width="${w.toFixed(2)}" height="${fh - 1}" fill="hsl(${hue},80%,60%)" rx="2" ry="2"/>` +
        (text ? `<text x="${(x + 3).toFixed(2)}" y="${y + fh - 5}">${esc(text)}</text>` : '') +
        '</g>',
    );
    let cx = x;
    for (const c of [...n.children.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      walk(c, cx, level + 1);
      cx += c.count * scale;
    }
  };
  walk(root, pad, 0);
  return (
    '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n' +
    `<svg version="1.1" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">\n` +
    `<style>text { font-family: monospace; font-size: 12px; fill: #000; } rect:hover { stroke: #000; }</style>\n` +
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#f8f8f8"/>\n` +
    `<text x="${width / 2}" y="24" text-anchor="middle">${esc(clean(o.title ?? 'Flame Graph'))} (${root.count} samples)</text>\n` +
    rects.join('\n') +
    '\n</svg>\n'
  );
}

function hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) >>> 0;
  return h;
}
