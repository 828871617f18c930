// Child process of portable.test.ts (run with --experimental-vm-modules): loads dist/src/portable.js and its whole
// import graph as ES modules inside a bare `node:vm` context — the ECMAScript built-ins and WebAssembly, plus the
// small set of Web APIs every browser has (TextEncoder/TextDecoder, performance, crypto.getRandomValues),
// implemented inside the context; no process, require, Buffer or Node built-in. Any import that is not a relative
// file is refused by the linker and reported. Then it runs workload.ts there and prints one JSON report.
import vm from 'node:vm';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = process.cwd();
const dist = resolve(root, 'dist');
const entry = resolve(dist, 'src/portable.js');

/** Browser-like globals, written for the context's own realm (so typed arrays it returns are the context's). */
const WEB_GLOBALS = String.raw`
(() => {
  const g = globalThis;
  class TextEncoder {
    get encoding() { return 'utf-8'; }
    encodeInto(s, dst) {
      let r = 0, w = 0;
      for (; r < s.length; r++) {
        let c = s.codePointAt(r);
        if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
        const n = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
        if (w + n > dst.length) break;
        if (n === 1) dst[w++] = c;
        else if (n === 2) { dst[w++] = 0xc0 | (c >> 6); dst[w++] = 0x80 | (c & 63); }
        else if (n === 3) { dst[w++] = 0xe0 | (c >> 12); dst[w++] = 0x80 | ((c >> 6) & 63); dst[w++] = 0x80 | (c & 63); }
        else { dst[w++] = 0xf0 | (c >> 18); dst[w++] = 0x80 | ((c >> 12) & 63); dst[w++] = 0x80 | ((c >> 6) & 63); dst[w++] = 0x80 | (c & 63); r++; }
      }
      return { read: r, written: w };
    }
    encode(s = '') {
      const buf = new Uint8Array(s.length * 3);
      return buf.slice(0, this.encodeInto(String(s), buf).written);
    }
  }
  class TextDecoder {
    constructor(label = 'utf-8', opts = {}) {
      if (!/^utf-?8$/i.test(label)) throw new RangeError('sandbox TextDecoder: only utf-8');
      this.ignoreBOM = !!opts.ignoreBOM;
    }
    get encoding() { return 'utf-8'; }
    decode(b) {
      if (b === undefined) return '';
      const u = b instanceof Uint8Array ? b : new Uint8Array(b.buffer ?? b, b.byteOffset ?? 0, b.byteLength);
      let s = '', i = 0;
      if (!this.ignoreBOM && u[0] === 0xef && u[1] === 0xbb && u[2] === 0xbf) i = 3;
      const cont = (k) => k < u.length && (u[k] & 0xc0) === 0x80;
      while (i < u.length) {
        const c = u[i];
        if (c < 0x80) { s += String.fromCharCode(c); i++; continue; }
        let n = c >= 0xf0 && c < 0xf5 ? 3 : c >= 0xe0 ? 2 : c >= 0xc2 && c < 0xe0 ? 1 : -1;
        let cp = n === 3 ? c & 7 : n === 2 ? c & 15 : c & 31;
        let k = 1;
        for (; n > 0 && k <= n && cont(i + k); k++) cp = (cp << 6) | (u[i + k] & 63);
        if (n < 0 || k <= n || (n === 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n === 3 && (cp < 0x10000 || cp > 0x10ffff))) {
          s += '\ufffd'; i += n < 0 ? 1 : Math.max(1, k); continue;
        }
        s += String.fromCodePoint(cp); i += n + 1;
      }
      return s;
    }
  }
  g.TextEncoder = TextEncoder;
  g.TextDecoder = TextDecoder;
  const hostNow = g.__hostNow;
  g.performance = { timeOrigin: hostNow(), now: () => hostNow() - g.performance.timeOrigin };
  g.crypto = { getRandomValues(a) { for (let i = 0; i < a.length; i++) a[i] = Math.floor(Math.random() * 2 ** (8 * a.BYTES_PER_ELEMENT)); return a; } };
  delete g.__hostNow;
})();
`;

const context = vm.createContext({ __hostNow: () => Date.now() });
vm.runInContext(WEB_GLOBALS, context);

const modules = new Map<string, vm.SourceTextModule>();
const fileOf = new Map<vm.Module, string>();
const importedBy = new Map<string, string>();
const external: { specifier: string; from: string }[] = [];
const dynamicImports: { specifier: string; from: string }[] = [];
const rel = (f: string) => relative(root, f);

/** The chain of importers from the entry to `file`, for messages. */
function chain(file: string): string {
  const out = [rel(file)];
  for (let f = importedBy.get(file); f; f = importedBy.get(f)) out.push(rel(f));
  return out.join(' <- ');
}

/** Parse `file` (V8's own parser lists its static imports) and, recursively, every relative import. */
function load(file: string, from?: string): vm.SourceTextModule {
  const hit = modules.get(file);
  if (hit) return hit;
  if (from) importedBy.set(file, from);
  const m = new vm.SourceTextModule(readFileSync(file, 'utf8'), {
    context,
    identifier: pathToFileURL(file).href,
    importModuleDynamically: ((specifier: string) => {
      dynamicImports.push({ specifier, from: chain(file) });
      throw new Error(`dynamic import of ${specifier} refused in the sandbox`);
    }) as never,
  });
  modules.set(file, m);
  fileOf.set(m, file);
  for (const s of m.dependencySpecifiers) {
    if (s.startsWith('./') || s.startsWith('../')) load(resolve(dirname(file), s), file);
    else external.push({ specifier: s, from: chain(file) });
  }
  return m;
}

async function instantiate(file: string): Promise<Record<string, unknown>> {
  const m = load(file);
  await m.link((specifier, referencing) => {
    if (!specifier.startsWith('./') && !specifier.startsWith('../')) throw new Error(`import of '${specifier}' refused in the sandbox`);
    return load(resolve(dirname(fileOf.get(referencing)!), specifier));
  });
  await m.evaluate();
  return m.namespace as Record<string, unknown>;
}

/** Copy bytes into a Uint8Array of the context's realm. */
function inContext(bytes: Uint8Array): Uint8Array {
  const u = vm.runInContext('(n) => new Uint8Array(n)', context)(bytes.length) as Uint8Array;
  u.set(bytes);
  return u;
}

const report: Record<string, unknown> = {};
try {
  const api = await instantiate(entry);
  const graph = [...modules.keys()].map(rel);
  report.modules = graph;
  report.external = external;
  // Source text checks on every module of the graph (beyond what the linker sees).
  report.sourceHits = graph.flatMap((f) => {
    const text = readFileSync(resolve(root, f), 'utf8');
    const hits: string[] = [];
    if (/['"]koffi['"]/.test(text)) hits.push(`${f}: mentions 'koffi'`);
    if (/\brequire\s*\(/.test(text.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, ''))) hits.push(`${f}: calls require()`);
    if (/getBuiltinModule/.test(text) && !f.endsWith('src/host/io.js')) hits.push(`${f}: uses getBuiltinModule`);
    // The declarations a TypeScript user of the entry compiles against: no Node types either.
    const dts = resolve(root, f.replace(/\.js$/, '.d.ts'));
    const decl = existsSync(dts) ? readFileSync(dts, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '') : '';
    if (/(?<![A-Za-z])Buffer\b|\bNodeJS\b|['"]node:|['"]koffi['"]/.test(decl)) hits.push(`${rel(dts)}: Node types in the declarations`);
    return hits;
  });
  report.globals = vm.runInContext('[typeof process, typeof require, typeof Buffer, typeof module, typeof global, typeof WebAssembly].join(",")', context);
  report.exportCount = Object.keys(api).length;
  report.exports = Object.keys(api).sort();
  const work = await instantiate(resolve(dist, 'test/portable/workload.js'));
  const files = { xdpProto: inContext(readFileSync(resolve(root, 'examples/build/xdp_proto.bpf.o'))) };
  report.workload = JSON.parse(JSON.stringify((work.portableWorkload as (b: unknown, f: unknown) => unknown)(api, files)));
  report.hostless = JSON.parse(JSON.stringify((work.hostlessWorkload as (b: unknown, f: unknown) => unknown)(api, files)));
  report.dynamicImports = dynamicImports;
} catch (e) {
  report.error = (e as Error)?.stack ?? String(e);
  report.external = external;
  report.dynamicImports = dynamicImports;
}
process.stdout.write(JSON.stringify(report));
