// The USDT target of examples/usdt_probe.bpf.c, built by the tests with gcc -O0 against <sys/sdt.h>
// (systemtap-sdt-dev) and linked with usdt_target_lib.c as libbpfkit_usdt.so:
//   bpfkit_usdt_target N
// prints "ready sema=S", waits for a byte on stdin, then fires bpfkit:tick(i, &x, -7) for i = 0..N-1 (x grows
// by i before each) plus once more as tick(99, &x, -7) from a second call site, calls the library's
// semaphore-gated bpfkit:gated probe each round, and prints "done sema=S gated=G" (S: the semaphore, G: how many
// rounds found it set). With a second byte (or EOF) it runs one more round and prints "again sema=S gated=G".
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/sdt.h>

int bpfkit_gated(int v);
unsigned bpfkit_gated_semaphore_value(void);

static volatile long x = 1000;

static int round_of(int n)
{
	int gated = 0;

	for (int i = 0; i < n; i++) {
		x += i;
		DTRACE_PROBE3(bpfkit, tick, i, &x, (long)-7);
		gated += bpfkit_gated(i);
	}
	DTRACE_PROBE3(bpfkit, tick, 99, &x, (long)-7);
	return gated;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 3;
	char c;
	int gated;

	printf("ready sema=%u\n", bpfkit_gated_semaphore_value());
	fflush(stdout);
	if (read(0, &c, 1) < 0)
		return 1;
	gated = round_of(n);
	printf("done sema=%u gated=%d\n", bpfkit_gated_semaphore_value(), gated);
	fflush(stdout);
	if (read(0, &c, 1) < 0)
		return 1;
	gated = round_of(n);
	printf("again sema=%u gated=%d\n", bpfkit_gated_semaphore_value(), gated);
	return 0;
}
