#!/usr/bin/env bash
# Compiles examples/*.bpf.c into examples/build/*.o with clang (BPF target, -O2 -g, BTF), using libbpf-dev's
# headers and a vmlinux.h that bpfkit itself dumps from the running kernel's BTF (`bpfkit btf dump --format c`,
# like `bpftool btf dump ... format c`) for the CO-RE examples. Needs the build (dist/) to exist.
# Skips quietly (exit 0, message on stderr) when clang or the headers are missing: tests needing the objects skip.
set -u
cd "$(dirname "$0")/../examples"
out=build
mkdir -p "$out"
if ! command -v clang >/dev/null; then echo "build-examples: clang missing, examples not built" >&2; exit 0; fi
if [[ ! -f /usr/include/bpf/bpf_helpers.h ]]; then echo "build-examples: libbpf-dev headers missing, examples not built" >&2; exit 0; fi
if [[ ! -s $out/vmlinux.h ]]; then
  if [[ -r /sys/kernel/btf/vmlinux && -f ../dist/src/cli/main.js ]]; then
    node ../bin/bpfkit.js btf dump /sys/kernel/btf/vmlinux --format c >"$out/vmlinux.h.tmp" && mv "$out/vmlinux.h.tmp" "$out/vmlinux.h"
  fi
fi
arch=$(uname -m)
case $arch in x86_64) target=x86 ;; aarch64) target=arm64 ;; *) target=$arch ;; esac
status=0
for src in *.bpf.c; do
  obj=$out/${src%.c}.o
  obj=${obj%.bpf.o}.bpf.o
  [[ -f $obj && $obj -nt $src && ( ! -f $out/vmlinux.h || $obj -nt $out/vmlinux.h ) ]] && continue
  if grep -q '"vmlinux.h"' "$src" && [[ ! -s $out/vmlinux.h ]]; then
    echo "build-examples: no vmlinux.h (kernel BTF or the bpfkit build missing), skipping $src" >&2
    continue
  fi
  clang -O2 -g -target bpf -D__TARGET_ARCH_$target -I"/usr/include/$arch-linux-gnu" -I"$out" -c "$src" -o "$obj.tmp" \
    && mv "$obj.tmp" "$obj" || { echo "build-examples: failed to compile $src" >&2; rm -f "$obj.tmp"; status=1; }
done
# One big-endian object (bpfeb) for the ELF reader's byte-order tests, kept apart from the main examples.
mkdir -p "$out/bpfeb"
if [[ ! -f $out/bpfeb/xdp_proto.bpf.o || $out/bpfeb/xdp_proto.bpf.o -ot xdp_proto.bpf.c ]]; then
  clang -O2 -g -target bpfeb -I"/usr/include/$arch-linux-gnu" -c xdp_proto.bpf.c -o "$out/bpfeb/xdp_proto.bpf.o" \
    || { echo "build-examples: failed to compile the bpfeb object" >&2; status=1; }
fi
exit $status
