/**
 * `bpfkit map list|dump|lookup|update|delete|getnext|create|pin|freeze|peek|push|pop|enqueue|dequeue` in
 * bpftool's spirit: keys and values as hex bytes.
 */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { KernelMap } from '../kernel/maps/map.js';
import { objectIds, tryOpenById } from '../kernel/info/ids.js';
import { mapInfo, type MapInfo } from '../kernel/info/info.js';
import { mapTypeByName } from '../isa/names.js';
import { bpfTry } from '../kernel/sys/bpf.js';
import { kernelError } from '../kernel/sys/errno.js';
import { printJson, printTable } from './prog.js';

/** A map from `ID` or a pinned path. */
export function openMap(ref: string): KernelMap {
  if (/^\d+$/.test(ref)) return KernelMap.fromId(Number(ref));
  if (ref.startsWith('/')) return KernelMap.fromPin(ref);
  throw new UsageError(`${ref}: give a map id or a pinned path under bpffs`);
}

/** Hex text (spaces, `0x` allowed) to bytes. */
export function hexBytes(text: string, what: string): Uint8Array {
  const clean = text.replace(/0x/gi, '').replace(/[\s,:]+/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(clean)) throw new UsageError(`${what}: '${text}' is not hex bytes`);
  return Uint8Array.from(clean.match(/../g) ?? [], (h) => parseInt(h, 16));
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex').replace(/(..)(?!$)/g, '$1 ');
const FLAGS: Record<string, number> = { any: 0, noexist: 1, exist: 2 };

function mapRow(i: MapInfo): (string | number)[] {
  return [i.id, i.typeName, i.name || '-', i.keySize, i.valueSize, i.maxEntries, `0x${i.flags.toString(16)}`];
}

/** Register `map`. */
export function register(program: Command): void {
  const map = program.command('map').description('kernel maps: list, dump, lookup, update, delete, getnext, create, pin, freeze, queue/stack ops');

  map
    .command('list')
    .description('list every map')
    .option('--json', 'JSON output')
    .action((opts: { json?: boolean }) => {
      const infos: MapInfo[] = [];
      for (const id of objectIds('map')) {
        const fd = tryOpenById('map', id);
        if (!fd) continue;
        try {
          infos.push(mapInfo(fd.fd));
        } finally {
          fd.close();
        }
      }
      if (opts.json) printJson(infos);
      else printTable(['ID', 'TYPE', 'NAME', 'KEY', 'VALUE', 'MAX', 'FLAGS'], infos.map(mapRow));
    });

  map
    .command('dump')
    .description('print every entry')
    .argument('<map>', 'map id or pinned path')
    .option('--json', 'JSON output')
    .action((ref: string, opts: { json?: boolean }) => {
      const m = openMap(ref);
      try {
        const entries = [...m.entries()];
        if (opts.json) printJson(entries.map(([key, value]) => ({ key, value })));
        else {
          for (const [k, v] of entries) process.stdout.write(`key: ${hex(k)}  value: ${hex(v)}\n`);
          process.stdout.write(`Found ${entries.length} element${entries.length === 1 ? '' : 's'}\n`);
        }
      } finally {
        m.close();
      }
    });

  map
    .command('lookup')
    .description('look up one key')
    .argument('<map>', 'map id or pinned path')
    .requiredOption('--key <hex>', 'key bytes in hex')
    .option('--json', 'JSON output')
    .action((ref: string, opts: { key: string; json?: boolean }) => {
      const m = openMap(ref);
      try {
        const key = hexBytes(opts.key, '--key');
        const v = m.lookup(key);
        if (opts.json) printJson({ key, value: v ?? null });
        else if (!v) throw new UsageError(`key ${hex(key)} not found`);
        else process.stdout.write(`key: ${hex(key)}  value: ${hex(v)}\n`);
      } finally {
        m.close();
      }
    });

  map
    .command('update')
    .description('insert or replace one entry')
    .argument('<map>', 'map id or pinned path')
    .requiredOption('--key <hex>', 'key bytes in hex')
    .requiredOption('--value <hex>', 'value bytes in hex')
    .option('--flags <flag>', 'any | noexist | exist', 'any')
    .action((ref: string, opts: { key: string; value: string; flags: string }) => {
      const f = FLAGS[opts.flags];
      if (f === undefined) throw new UsageError(`--flags: '${opts.flags}' is not any, noexist or exist`);
      const m = openMap(ref);
      try {
        m.update(hexBytes(opts.key, '--key'), hexBytes(opts.value, '--value'), f);
      } finally {
        m.close();
      }
    });

  map
    .command('delete')
    .description('delete one key')
    .argument('<map>', 'map id or pinned path')
    .requiredOption('--key <hex>', 'key bytes in hex')
    .action((ref: string, opts: { key: string }) => {
      const m = openMap(ref);
      try {
        if (!m.delete(hexBytes(opts.key, '--key'))) throw new UsageError(`key ${opts.key} not found`);
      } finally {
        m.close();
      }
    });

  registerMore(map);
}

/** `create` arguments: bpftool's keyword/value pairs (`type hash key 4 value 8 entries 16 name m flags 1`). */
function parseCreate(words: string[]): { type: number; key: number; value: number; entries: number; name: string; flags: number } {
  const seen = new Map<string, string>();
  const KEYS = ['type', 'key', 'value', 'entries', 'name', 'flags'];
  for (let i = 0; i < words.length; i += 2) {
    const k = words[i]!;
    if (!KEYS.includes(k)) throw new UsageError(`map create: unexpected '${k}' (expected ${KEYS.join(', ')})`);
    if (i + 1 >= words.length) throw new UsageError(`map create: '${k}' needs a value`);
    if (seen.has(k)) throw new UsageError(`map create: '${k}' given twice`);
    seen.set(k, words[i + 1]!);
  }
  for (const k of ['type', 'key', 'value', 'entries']) if (!seen.has(k)) throw new UsageError(`map create: missing '${k}'`);
  const typeName = seen.get('type')!;
  const type = mapTypeByName(typeName);
  if (type === undefined) throw new UsageError(`map create: '${typeName}' is not a map type (hash, array, queue, stack, ringbuf, ...)`);
  const num = (k: string) => {
    const t = seen.get(k) ?? '0';
    if (!/^(0x[0-9a-f]+|\d+)$/i.test(t) || Number(t) > 0xffffffff) throw new UsageError(`map create: ${k} '${t}' is not an unsigned 32-bit number`);
    return Number(t);
  };
  return { type, key: num('key'), value: num('value'), entries: num('entries'), name: seen.get('name') ?? '', flags: num('flags') };
}

function registerMore(map: Command): void {
  map
    .command('getnext')
    .description('the key after KEY (the first key without --key), BPF_MAP_GET_NEXT_KEY')
    .argument('<map>', 'map id or pinned path')
    .option('--key <hex>', 'key bytes in hex')
    .option('--json', 'JSON output')
    .action((ref: string, opts: { key?: string; json?: boolean }) => {
      const m = openMap(ref);
      try {
        const key = opts.key === undefined ? undefined : hexBytes(opts.key, '--key');
        if (key && key.length !== m.keySize) throw new UsageError(`--key: ${key.length} bytes, the map's keys have ${m.keySize}`);
        const next = new Uint8Array(Math.max(m.keySize, 1));
        const { ret } = bpfTry('MAP_GET_NEXT_KEY', { map_fd: m.fd, key: key ? Buffer.from(key) : undefined, next_key: next });
        if (ret === -2) throw new UsageError(key ? `no key after ${hex(key)} (it is the last one)` : 'the map is empty');
        if (ret < 0) throw kernelError('MAP_GET_NEXT_KEY', -ret, { detail: `map ${m.name}` });
        const nk = next.subarray(0, m.keySize);
        if (opts.json) printJson({ key: key ?? null, next_key: nk });
        else process.stdout.write(`${key ? `key: ${hex(key)}  ` : ''}next key: ${hex(nk)}\n`);
      } finally {
        m.close();
      }
    });

  map
    .command('create')
    .description('create a map and pin it: create PATH type T key K value V entries N [name NAME] [flags F]')
    .argument('<path>', 'pin path (under /sys/fs/bpf)')
    .argument('<words...>', 'type T key K value V entries N [name NAME] [flags F]')
    .option('--json', 'JSON output (the new map)')
    .action((path: string, words: string[], opts: { json?: boolean }) => {
      if (!path.startsWith('/')) throw new UsageError(`${path}: give an absolute pin path under bpffs`);
      const c = parseCreate(words);
      const m = KernelMap.create({ name: c.name, type: c.type, keySize: c.key, valueSize: c.value, maxEntries: c.entries, flags: c.flags });
      try {
        m.pin(path);
        if (opts.json) printJson(m.info());
      } finally {
        m.close();
      }
    });

  map
    .command('pin')
    .description('pin a map in bpffs')
    .argument('<map>', 'map id or pinned path')
    .argument('<path>', 'new pin path (under /sys/fs/bpf)')
    .action((ref: string, path: string) => {
      const m = openMap(ref);
      try {
        m.pin(path);
      } finally {
        m.close();
      }
    });

  map
    .command('freeze')
    .description('make a map read-only for user space (BPF_MAP_FREEZE; programs may still write)')
    .argument('<map>', 'map id or pinned path')
    .action((ref: string) => {
      const m = openMap(ref);
      try {
        m.freeze();
      } finally {
        m.close();
      }
    });

  const keyless = (m: KernelMap, what: string) => {
    if (m.keySize !== 0) throw new UsageError(`map ${what}: ${m.name || m.id} is a ${mapInfo(m.fd).typeName} map (needs a queue or stack)`);
  };
  const printValue = (v: Uint8Array | undefined, json: boolean | undefined, empty: string) => {
    if (json) printJson({ value: v ?? null });
    else if (!v) throw new UsageError(empty);
    else process.stdout.write(`value: ${hex(v)}\n`);
  };
  for (const [name, alias] of [
    ['push', 'enqueue'],
    ['pop', 'dequeue'],
  ] as const) {
    for (const cmd of [name, alias]) {
      const isPush = name === 'push';
      const c = map
        .command(cmd)
        .description(isPush ? `add a value to a ${cmd === 'push' ? 'stack or queue' : 'queue'}` : `remove and print the next value of a ${cmd === 'pop' ? 'stack or queue' : 'queue'}`)
        .argument('<map>', 'map id or pinned path')
        .option('--json', 'JSON output');
      if (isPush) c.requiredOption('--value <hex>', 'value bytes in hex');
      c.action((ref: string, opts: { value?: string; json?: boolean }) => {
        const m = openMap(ref);
        try {
          keyless(m, cmd);
          if (isPush) {
            const v = hexBytes(opts.value!, '--value');
            if (v.length !== m.valueSize) throw new UsageError(`--value: ${v.length} bytes, the map's values have ${m.valueSize}`);
            m.push(v);
          } else printValue(m.pop(), opts.json, `map ${m.name || m.id} is empty`);
        } finally {
          m.close();
        }
      });
    }
  }

  map
    .command('peek')
    .description('print the next value of a queue or stack without removing it')
    .argument('<map>', 'map id or pinned path')
    .option('--json', 'JSON output')
    .action((ref: string, opts: { json?: boolean }) => {
      const m = openMap(ref);
      try {
        keyless(m, 'peek');
        printValue(m.peek(), opts.json, `map ${m.name || m.id} is empty`);
      } finally {
        m.close();
      }
    });
}
