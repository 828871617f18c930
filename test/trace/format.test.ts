/** printf formatting (glibc semantics on 64-bit varargs) and histogram rendering. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { histText, lhistText } from '../../src/trace/output.js';
import { formatPrintf, parseFormat, type FormatPart } from '../../src/trace/printf-format.js';

const fmt = (f: string, ...args: (bigint | string)[]) => formatPrintf(parseFormat(f) as FormatPart[], args);

test('printf conversions behave like glibc snprintf with 64-bit arguments', () => {
  assert.equal(fmt('%d %s %x %5d|%-5s|\n', 42n, 'ab', 255n, 7n, 'x'), '42 ab ff     7|x    |\n');
  assert.equal(fmt('%d', -1n), '-1');
  assert.equal(fmt('%d', 5000000000n), '705032704');
  assert.equal(fmt('%ld', 5000000000n), '5000000000');
  assert.equal(fmt('%u', -1n), '4294967295');
  assert.equal(fmt('%lu', -1n), '18446744073709551615');
  assert.equal(fmt('%05d|%-4d|%+d|% d', 42n, 7n, 3n, 3n), '00042|7   |+3| 3');
  assert.equal(fmt('%#x %#o %X %.3d %c %%', 255n, 8n, 0xabn, 5n, 65n), '0xff 010 AB 005 A %');
  assert.equal(fmt('%.2s|%10s', 'hello', 'hi'), 'he|        hi');
  assert.equal(fmt('%p %p', 0n, 0x1234n), '(nil) 0x1234');
  assert.equal(fmt('%hhd %hd', 257n, 65537n), '1 1');
  assert.match(parseFormat('%q') as string, /Invalid format/);
});

test('hist and lhist text', () => {
  const h = [0n, 0n, 1n, 0n, 3n];
  assert.equal(
    histText(h),
    '[1]                    1 |@@@@@@@@@@@@@@@@@                                   |\n' +
      '[2, 4)                 0 |                                                    |\n' +
      '[4, 8)                 3 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n',
  );
  const big: bigint[] = [];
  big[12] = 1n;
  assert.equal(histText(big.map((v) => v ?? 0n)), '[1K, 2K)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n');
  assert.equal(
    lhistText([1n, 0n, 2n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 1n], { min: 0, max: 100, step: 10 }),
    '(..., 0)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n' +
      '[0, 10)                0 |                                                    |\n' +
      '[10, 20)               2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n' +
      '[20, 30)               0 |                                                    |\n'.repeat(0) +
      lhistText([0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n], { min: 0, max: 100, step: 10 }) +
      Array.from({ length: 8 }, (_, i) => `[${(i + 2) * 10}, ${(i + 3) * 10})`.padEnd(16) + '       0 |' + ' '.repeat(52) + '|\n').join('') +
      '[100, ...)             1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n',
  );
});
