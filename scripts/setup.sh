#!/usr/bin/env bash
# Installs what the tests need on a fresh machine: npm dependencies and, when root on Debian,
# the external tools some tests compare against (clang/llvm, bpftool, libbpf, tcpdump, iproute2, bpftrace,
# <sys/sdt.h> for the USDT tests).
# Idempotent and quiet when everything is present. Tests that still lack a tool skip and say why.
set -u
cd "$(dirname "$0")/.."

if [[ ! -d node_modules/commander || ! -d node_modules/typescript ]]; then
  echo "setup: installing npm dependencies" >&2
  if [[ -f package-lock.json ]]; then npm ci --no-audit --no-fund >&2; else npm install --no-audit --no-fund >&2; fi
fi

need=()
command -v clang >/dev/null || need+=(clang)
command -v llvm-objdump >/dev/null || need+=(llvm)
command -v bpftool >/dev/null || need+=(bpftool)
[[ -f /usr/include/bpf/bpf_helpers.h ]] || need+=(libbpf-dev)
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v ip >/dev/null || need+=(iproute2)
command -v bpftrace >/dev/null || need+=(bpftrace)
[[ -f /usr/include/linux/bpf.h ]] || need+=(linux-libc-dev)
command -v gcc >/dev/null || need+=(gcc)
[[ -f /usr/include/x86_64-linux-gnu/sys/sdt.h || -f /usr/include/aarch64-linux-gnu/sys/sdt.h || -f /usr/include/sys/sdt.h ]] || need+=(systemtap-sdt-dev)

if ((${#need[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "setup: installing ${need[*]} from Debian" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 || echo "setup: apt-get update failed; tests needing ${need[*]} will skip" >&2
    apt-get install -y -qq --no-install-recommends "${need[@]}" >&2 || echo "setup: could not install ${need[*]}; tests needing them will skip" >&2
  else
    echo "setup: missing ${need[*]} (not root or no apt-get); tests needing them will skip" >&2
  fi
fi


# bpffs and tracefs, when privileged and absent (the kernel backend also mounts them itself).
if [[ $(id -u) -eq 0 ]]; then
  mountpoint -q /sys/fs/bpf 2>/dev/null || mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true
  mountpoint -q /sys/kernel/tracing 2>/dev/null || mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true
fi
exit 0
