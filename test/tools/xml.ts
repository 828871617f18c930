/** A small strict XML well-formedness checker for the flame graph tests (elements, attributes, text, entities). */

/** An element of the parsed tree. */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const NAME = /^[A-Za-z_:][A-Za-z0-9_:.-]*/;
const ENTITY = /^&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/;

function unescape(s: string, where: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '<') throw new Error(`raw < in ${where}`);
    if (c === '&') {
      const m = ENTITY.exec(s.slice(i));
      if (!m) throw new Error(`bad entity in ${where}: ${s.slice(i, i + 10)}`);
      out += { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[m[1]!] ?? String.fromCodePoint(Number(m[1]!.startsWith('#x') ? '0x' + m[1]!.slice(2) : m[1]!.slice(1)));
      i += m[0].length - 1;
    } else if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(c)) throw new Error(`control character in ${where}`);
    else out += c;
  }
  return out;
}

/** Parse a document (optional XML declaration, one root element); throws on anything not well-formed. */
export function parseXml(doc: string): XmlElement {
  let i = 0;
  if (doc.startsWith('<?xml')) {
    const end = doc.indexOf('?>');
    if (end < 0) throw new Error('unterminated XML declaration');
    i = end + 2;
  }
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  while (i < doc.length) {
    const lt = doc.indexOf('<', i);
    const text = doc.slice(i, lt < 0 ? doc.length : lt);
    if (stack.length) stack.at(-1)!.text += unescape(text, 'text');
    else if (text.trim()) throw new Error(`text outside the root element: ${text.slice(0, 20)}`);
    if (lt < 0) break;
    i = lt + 1;
    if (doc[i] === '/') {
      const m = NAME.exec(doc.slice(i + 1));
      if (!m) throw new Error(`bad end tag at ${i}`);
      const open = stack.pop();
      if (!open || open.name !== m[0]) throw new Error(`</${m[0]}> closes <${open?.name}>`);
      i += 1 + m[0].length;
      while (/\s/.test(doc[i] ?? '')) i++;
      if (doc[i] !== '>') throw new Error(`bad end tag </${m[0]}`);
      i++;
      continue;
    }
    const m = NAME.exec(doc.slice(i));
    if (!m) throw new Error(`bad tag at ${i}: ${doc.slice(i, i + 10)}`);
    const el: XmlElement = { name: m[0], attrs: {}, children: [], text: '' };
    i += m[0].length;
    for (;;) {
      const ws = /^\s*/.exec(doc.slice(i))![0].length;
      i += ws;
      if (doc.startsWith('/>', i) || doc[i] === '>') break;
      if (!ws) throw new Error(`missing space before attribute in <${el.name}>`);
      const a = /^([A-Za-z_:][A-Za-z0-9_:.-]*)\s*=\s*("([^"<]*)"|'([^'<]*)')/.exec(doc.slice(i));
      if (!a) throw new Error(`bad attribute in <${el.name}>: ${doc.slice(i, i + 20)}`);
      if (Object.hasOwn(el.attrs, a[1]!)) throw new Error(`duplicate attribute ${a[1]} in <${el.name}>`);
      el.attrs[a[1]!] = unescape(a[3] ?? a[4] ?? '', `attribute ${a[1]}`);
      i += a[0].length;
    }
    if (stack.length) stack.at(-1)!.children.push(el);
    else if (root) throw new Error('two root elements');
    else root = el;
    if (doc.startsWith('/>', i)) i += 2;
    else {
      i++;
      stack.push(el);
    }
  }
  if (stack.length) throw new Error(`unclosed <${stack.at(-1)!.name}>`);
  if (!root) throw new Error('no root element');
  return root;
}
