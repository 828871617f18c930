// The shared-library half of the USDT target (see usdt_target.c): bpfkit:gated(v, -v as short,
// 200 + v as unsigned char, v << 40 as u64), fired only while its semaphore is set (the kernel counts it up
// while a uprobe with ref_ctr_offset is attached). Built with gcc -O2 -shared -fPIC.
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

unsigned short bpfkit_gated_semaphore __attribute__((section(".probes")));
/* What `dtrace -h` generates as BPFKIT_GATED_ENABLED() for a provider file. */
#define BPFKIT_GATED_ENABLED() __builtin_expect(bpfkit_gated_semaphore, 0)

int bpfkit_gated(int v)
{
	if (!BPFKIT_GATED_ENABLED())
		return 0;
	short s = -v;
	unsigned char u = 200 + v;

	DTRACE_PROBE4(bpfkit, gated, v, s, u, (unsigned long long)v << 40);
	return 1;
}

unsigned bpfkit_gated_semaphore_value(void)
{
	return bpfkit_gated_semaphore;
}
