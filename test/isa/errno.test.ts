/** The fixed errno table of src/isa against the kernel headers installed on this machine. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { LINUX_ERRNO } from '../../src/isa/errno.js';
import { errnoName, errnoValue } from '../../src/kernel/sys/errno.js';

const HEADERS = ['/usr/include/asm-generic/errno-base.h', '/usr/include/asm-generic/errno.h'];

test('LINUX_ERRNO equals asm-generic/errno-base.h + errno.h', { skip: HEADERS.every(existsSync) ? false : 'kernel headers (linux-libc-dev) not installed' }, () => {
  const fromHeaders = new Map<string, number>();
  for (const h of HEADERS) {
    for (const m of readFileSync(h, 'utf8').matchAll(/^#define\s+(E[A-Z0-9]+)\s+(\w+)/gm)) {
      const v = /^\d+$/.test(m[2]!) ? Number(m[2]) : fromHeaders.get(m[2]!);
      assert.ok(v !== undefined, `${m[1]} = ${m[2]}`);
      fromHeaders.set(m[1]!, v);
    }
  }
  assert.ok(fromHeaders.size > 120, `${fromHeaders.size} names`);
  for (const [name, v] of fromHeaders) assert.equal(LINUX_ERRNO[name], v, name);
  // The only name beyond the headers: the C library's ENOTSUP alias.
  assert.deepEqual(Object.keys(LINUX_ERRNO).filter((n) => !fromHeaders.has(n)), ['ENOTSUP']);
  assert.equal(LINUX_ERRNO.ENOTSUP, LINUX_ERRNO.EOPNOTSUPP);
});

test('errnoName / errnoValue use the table, canonical names for aliases, kernel-internal values too', () => {
  assert.equal(errnoName(2), 'ENOENT');
  assert.equal(errnoName(11), 'EAGAIN');
  assert.equal(errnoName(35), 'EDEADLK');
  assert.equal(errnoName(95), 'EOPNOTSUPP');
  assert.equal(errnoName(524), 'ENOTSUPP');
  assert.equal(errnoName(9999), 'E9999');
  assert.equal(errnoValue('E2BIG'), 7);
  assert.equal(errnoValue('ENOTSUPP'), 524);
  assert.equal(errnoValue('toString'), undefined);
});
