/* zipmk.h — real zips for the unit tests of extract, zipdir and unpack:
 * mkzip("x.zip", BODY) runs Python's zipfile with a preamble of helpers,
 * then BODY, to write tmp/x.zip (unit.h's scratch directory).
 */
#ifndef MFS_TEST_ZIPMK_H
#define MFS_TEST_ZIPMK_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

/* st/df write a stored/deflated member (fixed date), pat(n) is the bytes
 * of pattern(n) (i * 7 + i / 251), patch(f) closes the
 * zip and lets f edit its bytes; cdh(d, i) is the offset of the i-th
 * central directory entry, lfh(d, i) its local header's; z64end turns the
 * end record into zip64 end records, cd64(d, i) moves entry i's offset into
 * a zip64 block; streamed() opens a writer that cannot seek (data
 * descriptors); local_entry(n, b) is the bytes of a stored local entry. */
static const char zipmk_preamble[] =
	"import io, sys, struct, zipfile, zlib, tarfile, gzip, warnings\n"
	"warnings.simplefilter('ignore')\n"
	"p = sys.argv[1]\n"
	"z = zipfile.ZipFile(p, 'w')\n"
	"def zi(n): return zipfile.ZipInfo(n, (2020, 1, 1, 0, 0, 0))\n"
	"def st(n, b): z.writestr(zi(n), b, zipfile.ZIP_STORED)\n"
	"def df(n, b): z.writestr(zi(n), b, zipfile.ZIP_DEFLATED)\n"
	"def pat(n): return bytes((i * 7 + i // 251) & 255 for i in range(n))\n"
	"def patch(f):\n"
	"    z.close()\n"
	"    d = bytearray(open(p, 'rb').read())\n"
	"    f(d)\n"
	"    open(p, 'wb').write(d)\n"
	"def u16(d, o, v): struct.pack_into('<H', d, o, v)\n"
	"def u32(d, o, v): struct.pack_into('<I', d, o, v)\n"
	"def g16(d, o): return struct.unpack_from('<H', d, o)[0]\n"
	"def g32(d, o): return struct.unpack_from('<I', d, o)[0]\n"
	"def eocd(d): return d.rfind(b'PK\\5\\6')\n"
	"def cdh(d, i):\n"
	"    q = g32(d, eocd(d) + 16)\n"
	"    for _ in range(i): q += 46 + sum(struct.unpack_from('<HHH', d, q + 28))\n"
	"    return q\n"
	"def lfh(d, i): return g32(d, cdh(d, i) + 42)\n"
	"def z64end(d):\n"
	"    e = eocd(d)\n"
	"    n, size, off = struct.unpack_from('<HII', d, e + 10)\n"
	"    d[e:] = (b'PK\\6\\6' + struct.pack('<QHHIIQQQQ', 44, 45, 45, 0, 0, n, n, size, off) +\n"
	"             b'PK\\6\\7' + struct.pack('<IQI', 0, e, 1) +\n"
	"             b'PK\\5\\6' + struct.pack('<HHHHIIH', 0, 0, 0xffff, 0xffff, 0xffffffff,\n"
	"                                       0xffffffff, 0))\n"
	"def cd64(d, i):\n"
	"    q = cdh(d, i)\n"
	"    nl, xl = struct.unpack_from('<HH', d, q + 28)\n"
	"    x = struct.pack('<HHQ', 1, 8, g32(d, q + 42))\n"
	"    u32(d, q + 42, 0xffffffff)\n"
	"    u16(d, q + 30, xl + len(x))\n"
	"    d[q + 46 + nl + xl:q + 46 + nl + xl] = x\n"
	"    u32(d, eocd(d) + 12, g32(d, eocd(d) + 12) + len(x))\n"
	"class Unseekable:\n"
	"    def __init__(s, f): s.f, s.n = f, 0\n"
	"    def write(s, b): s.f.write(b); s.n += len(b); return len(b)\n"
	"    def tell(s): return s.n\n"
	"    def seek(s, *a): raise OSError('no')\n"
	"    def flush(s): s.f.flush()\n"
	"def streamed():\n"
	"    global z\n"
	"    z.close()\n"
	"    z = zipfile.ZipFile(Unseekable(open(p, 'wb')), 'w')\n"
	"def local_entry(n, b):\n"
	"    f = io.BytesIO()\n"
	"    with zipfile.ZipFile(f, 'w') as y: y.writestr(zi(n), b, zipfile.ZIP_STORED)\n"
	"    return f.getvalue()[:30 + len(n) + len(b)]\n"
	"def upath(n, u): return struct.pack('<HHB', 0x7075, 5 + len(u), 1) + "
	"struct.pack('<I', zlib.crc32(n)) + u\n";

/* Runs `body` after the preamble to write tmp/`name`; returns its path. */
static inline const char *mkzip(const char *name, const char *body)
{
	const char *path = unit_at(name);
	char cmd[1024];
	FILE *f = fopen(unit_at("mk.py"), "w");

	if (!f || fputs(zipmk_preamble, f) == EOF || fputs(body, f) == EOF ||
	    fputs("\nz.close()\n", f) == EOF || fclose(f) != 0) {
		perror("mk.py");
		exit(1);
	}
	/* Debian's own python starts in a sixth of the time a version
	 * manager's shim takes, and the tests make hundreds of zips. */
	snprintf(cmd, sizeof(cmd), "%s '%s' '%s'",
		 access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3",
		 unit_at("mk.py"), path);
	if (system(cmd) != 0) {
		fprintf(stderr, "python3 failed for %s\n", name);
		exit(1);
	}
	return path;
}

static inline off_t file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) < 0 ? -1 : sb.st_size;
}

#endif
