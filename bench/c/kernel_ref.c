// Reference numbers for bench/kernel.ts, written against libbpf (built by the bench in a temp dir when gcc and
// libbpf-dev are present): bpf_map_lookup_elem ns/call on an array map, and ring buffer consumption with
// libbpf's ring_buffer__consume, fed by the same producer as the TypeScript side (a socket filter calling
// bpf_ringbuf_output 8 bytes per run, driven by BPF_PROG_TEST_RUN with `repeat`). Prints one JSON line.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static long events;
static int on_event(void *ctx, void *data, size_t len)
{
	(void)ctx;
	(void)data;
	(void)len;
	events++;
	return 0;
}

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })

int main(int argc, char **argv)
{
	long lookups = argc > 1 ? atol(argv[1]) : 1000000;
	double seconds = argc > 2 ? atof(argv[2]) : 1.0;
	int repeat = argc > 3 ? atoi(argv[3]) : 8000;

	int arr = bpf_map_create(BPF_MAP_TYPE_ARRAY, "ref_arr", 4, 8, 1, NULL);
	int rb = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "ref_rb", 0, 0, 1 << 20, NULL);
	if (arr < 0 || rb < 0) {
		fprintf(stderr, "map create failed\n");
		return 1;
	}
	__u32 key = 0;
	__u64 val = 0;
	double t0 = now_ns();
	for (long i = 0; i < lookups; i++)
		bpf_map_lookup_elem(arr, &key, &val);
	double lookup_ns = (now_ns() - t0) / lookups;

	struct bpf_insn prog[] = {
		INSN(BPF_ST | BPF_MEM | BPF_DW, 10, 0, -8, 42),
		INSN(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, rb),
		INSN(0, 0, 0, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -8),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 8),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 4, 0, 0, 0),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_ringbuf_output),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	int pfd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "ref_rb", "GPL", prog, sizeof(prog) / sizeof(prog[0]), NULL);
	if (pfd < 0) {
		fprintf(stderr, "prog load failed\n");
		return 1;
	}
	struct ring_buffer *r = ring_buffer__new(rb, on_event, NULL, NULL);
	char pkt[64] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = sizeof(pkt), .repeat = repeat);
	long produced = 0;
	t0 = now_ns();
	while (now_ns() - t0 < seconds * 1e9) {
		if (bpf_prog_test_run_opts(pfd, &opts) != 0) {
			fprintf(stderr, "test run failed\n");
			return 1;
		}
		produced += repeat;
		ring_buffer__consume(r);
	}
	double dt = (now_ns() - t0) / 1e9;
	printf("{\"lookup_ns\":%.1f,\"ringbuf_events_per_s\":%.0f,\"events\":%ld,\"produced\":%ld}\n", lookup_ns, events / dt, events, produced);
	ring_buffer__free(r);
	close(pfd);
	close(rb);
	close(arr);
	return 0;
}
