#!/usr/bin/env python3
# folios.py resident|large|write2m PATH — what the page cache holds of a file
# (tests/e2e/t_40_pagecache.sh; root: /proc/kpageflags).
#
#   resident PATH   pages of PATH in the page cache / all its pages, without
#                   touching any (mmap + mincore)
#   large PATH      pages of PATH that sit in folios of at least 2 MiB / all
#                   its pages (mmap, touch each page, /proc/self/pagemap for
#                   its frame, /proc/kpageflags for compound head and tail)
#   write2m PATH    creates PATH with one 2 MiB write at offset 0 (a probe:
#                   does this file system cache such a write as one 2 MiB
#                   folio?)
import ctypes
import mmap
import os
import sys

PAGE = os.sysconf("SC_PAGE_SIZE")
LARGE = 2 << 20
KPF_COMPOUND_HEAD = 1 << 15
KPF_COMPOUND_TAIL = 1 << 16

libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]
libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]


def mapped(path):
    fd = os.open(path, os.O_RDONLY)
    size = os.fstat(fd).st_size
    addr = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
    os.close(fd)
    if addr in (None, ctypes.c_void_p(-1).value):
        sys.exit("mmap %s: %s" % (path, os.strerror(ctypes.get_errno())))
    return addr, size, (size + PAGE - 1) // PAGE


def resident(path):
    addr, size, n = mapped(path)
    vec = (ctypes.c_ubyte * n)()
    if libc.mincore(addr, size, vec) != 0:
        sys.exit("mincore: %s" % os.strerror(ctypes.get_errno()))
    return sum(v & 1 for v in vec), n


def large(path):
    addr, size, n = mapped(path)
    for i in range(n):
        ctypes.string_at(addr + i * PAGE, 1)
    with open("/proc/self/pagemap", "rb") as pm, open("/proc/kpageflags", "rb") as kf:
        raw = os.pread(pm.fileno(), 8 * n, addr // PAGE * 8)
        flags = []
        for i in range(n):
            e = int.from_bytes(raw[8 * i:8 * i + 8], "little")
            pfn = e & ((1 << 55) - 1)
            if not e >> 63 or not pfn:
                sys.exit("page %d: not present or no frame number (not root?)" % i)
            flags.append(int.from_bytes(os.pread(kf.fileno(), 8, pfn * 8), "little"))
    # A folio: a page that is not a compound tail, and the tails after it.
    big, i = 0, 0
    while i < n:
        j = i + 1
        if flags[i] & KPF_COMPOUND_HEAD:
            while j < n and flags[j] & KPF_COMPOUND_TAIL and not flags[j] & KPF_COMPOUND_HEAD:
                j += 1
        if (j - i) * PAGE >= LARGE:
            big += j - i
        i = j
    return big, n


def main():
    op, path = sys.argv[1], sys.argv[2]
    if op == "write2m":
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.pwrite(fd, os.urandom(LARGE), 0)
        os.close(fd)
        return
    got, n = resident(path) if op == "resident" else large(path)
    print("%d/%d" % (got, n))


main()
