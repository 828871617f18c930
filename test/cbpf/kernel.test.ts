/**
 * Classic BPF against the real kernel: the eBPF translation loaded as a SOCKET_FILTER and run with
 * BPF_PROG_TEST_RUN agrees with the interpreter; a classic program attached with SO_ATTACH_FILTER filters a
 * UDP socket; `bpfkit capture` on a veth pair (the far end in a network namespace) keeps only what the
 * expression selects. Needs root; skips otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { assembleClassic, attachFilter, classicToEbpf, compileFilter, loadSocketFilterProgram, runClassic, testRunSocketFilter } from '../../src/cbpf/index.js';
import { closeFd } from '../../src/cbpf/sys.js';
import { readPcap } from '../../src/pcap/index.js';
import { generatePackets } from '../fixtures/packets.js';
import { FILTER_CORPUS } from './corpus.js';

const isRoot = process.getuid?.() === 0;
function bpfUsable(): string | false {
  if (!isRoot) return 'needs root';
  try {
    closeFd(loadSocketFilterProgram(classicToEbpf(assembleClassic('ret #1'))));
    return false;
  } catch (e) {
    return `cannot load a socket filter: ${(e as Error).message}`;
  }
}
const bpfSkip = bpfUsable();

test('translated eBPF agrees with the interpreter in the kernel (BPF_PROG_TEST_RUN)', { skip: bpfSkip }, () => {
  const pkts = generatePackets(400, 17).filter((p) => p.origLen === undefined && p.data.length >= 1);
  const exprs = FILTER_CORPUS.filter((_, i) => i % 3 === 0);
  const bad: string[] = [];
  for (const expr of exprs) {
    const prog = compileFilter(expr);
    const fd = loadSocketFilterProgram(classicToEbpf(prog));
    try {
      for (const p of pkts) {
        const want = runClassic(prog, p.data);
        const got = testRunSocketFilter(fd, p.data);
        if (got !== want) {
          bad.push(`${expr}: interpreter ${want}, kernel ${got} on ${Buffer.from(p.data).toString('hex')}`);
          break;
        }
      }
    } finally {
      closeFd(fd);
    }
  }
  assert.deepEqual(bad, []);
});

test('the translation of div/mod by zero, len, big constants, ldxb and helper calls loads and runs in the kernel', { skip: bpfSkip }, () => {
  const cases: [string, Uint8Array, number][] = [
    ['ld #10\nldx #0\ndiv x\nret #7', new Uint8Array(20), 0],
    ['ld #10\nldx #3\nmod x\nret a', new Uint8Array(20), 1],
    ['ld #len\nret a', new Uint8Array(33), 33],
    ['ld #0xfffffff0\njgt #0x80000000, y, n\ny: ret #1\nn: ret #2', new Uint8Array(20), 1],
    ['ldxb 4*([0]&0xf)\ntxa\nret a', Uint8Array.from([0x46, ...new Array(30).fill(0)]), 24],
    ['ld #cpu\nld #rand\nret #5', new Uint8Array(20), 5],
  ];
  for (const [src, data, want] of cases) {
    const fd = loadSocketFilterProgram(classicToEbpf(assembleClassic(src)));
    try {
      assert.equal(testRunSocketFilter(fd, data), want, src);
    } finally {
      closeFd(fd);
    }
  }
});

test('SO_ATTACH_FILTER on a UDP socket drops what the classic program rejects', async (t) => {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((res) => sock.bind(0, '127.0.0.1', res));
  const fd = (sock as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) {
    sock.close();
    t.skip('this Node does not expose the UDP socket descriptor');
    return;
  }
  // The filter sees the datagram from its UDP header: payload byte 0 is at offset 8. Keep only 'A...'.
  attachFilter(fd, assembleClassic("ldb [8]\njeq #0x41, keep, drop\nkeep: ret #65535\ndrop: ret #0"));
  const got: string[] = [];
  sock.on('message', (m) => got.push(m.toString()));
  const port = sock.address().port;
  const tx = dgram.createSocket('udp4');
  for (const m of ['A1', 'B2', 'A3', 'C4', 'A5']) await new Promise<void>((res) => tx.send(m, port, '127.0.0.1', () => res()));
  await new Promise((res) => setTimeout(res, 150));
  tx.close();
  sock.close();
  assert.deepEqual(got, ['A1', 'A3', 'A5']);
});

const hasIp = spawnSync('ip', ['-V']).status === 0;
test('bpfkit capture on a veth pair keeps only the matching packets', { skip: !isRoot ? 'needs root' : !hasIp ? 'iproute2 is not installed' : false }, async () => {
  const ns = `bpfkit-t${process.pid}`;
  const a = `bkA${process.pid % 100000}`;
  const b = `bkB${process.pid % 100000}`;
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-cap-'));
  const sh = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
  try {
    sh('netns', 'add', ns);
    sh('link', 'add', a, 'type', 'veth', 'peer', 'name', b);
    sh('link', 'set', b, 'netns', ns);
    sh('addr', 'add', '10.213.7.1/24', 'dev', a);
    sh('link', 'set', a, 'up');
    sh('netns', 'exec', ns, 'ip', 'addr', 'add', '10.213.7.2/24', 'dev', b);
    sh('netns', 'exec', ns, 'ip', 'link', 'set', b, 'up');
    const out = join(dir, 'cap.pcap');
    const bin = resolve('bin/bpfkit.js');
    const cap = spawn(process.execPath, [bin, 'capture', '-i', a, '-w', out, '-c', '3', '--timeout', '10', 'udp and dst port 9999'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    cap.stderr.on('data', (d) => (err += d));
    await new Promise<void>((res, rej) => {
      const t = setTimeout(() => rej(new Error('capture did not start')), 10000);
      cap.stderr.on('data', () => {
        if (err.includes('capturing on')) {
          clearTimeout(t);
          res();
        }
      });
    });
    const sender = `const d=require('dgram').createSocket('udp4');let n=0;const s=()=>{d.send('m'+n,n%2?9999:8888,'10.213.7.1');if(++n<8)setTimeout(s,15);else setTimeout(()=>d.close(),50)};s();`;
    execFileSync('ip', ['netns', 'exec', ns, process.execPath, '-e', sender], { stdio: 'pipe' });
    const code = await new Promise<number | null>((res) => cap.on('exit', res));
    assert.equal(code, 0, err);
    const recs = readPcap(new Uint8Array(readFileSync(out))).records;
    assert.equal(recs.length, 3);
    for (const r of recs) {
      assert.equal((r.data[12]! << 8) | r.data[13]!, 0x0800);
      assert.equal(r.data[23], 17);
      assert.equal((r.data[36]! << 8) | r.data[37]!, 9999);
    }
  } finally {
    spawnSync('ip', ['link', 'del', a]);
    spawnSync('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  }
});
