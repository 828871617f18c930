/**
 * `bpfkit map list|dump|lookup|update|delete` in bpftool's spirit: keys and values as hex bytes.
 */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { KernelMap } from '../kernel/maps/map.js';
import { objectIds, tryOpenById } from '../kernel/info/ids.js';
import { mapInfo, type MapInfo } from '../kernel/info/info.js';
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
  const map = program.command('map').description('kernel maps: list, dump, lookup, update, delete');

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
}
