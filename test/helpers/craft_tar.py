#!/usr/bin/env python3
"""Write a tar with exactly the members described in a JSON list, for tests.

Each member: {"name": str (latin1), "type": "file"|"dir"|"symlink"|"hardlink"|"fifo",
"data": str (latin1, files), "link": str, "mode": int, "uid": int, "gid": int,
"mtime": number, "xattrs": {key: hex}}. Names are written as given, so tests
can craft '..', absolute paths and whiteouts that GNU tar would refuse.
Usage: craft_tar.py OUT.tar < members.json   (format: PAX)
"""
import io, json, sys, tarfile

members = json.load(sys.stdin)
with tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT, encoding='latin1', errors='surrogateescape') as tf:
    for m in members:
        ti = tarfile.TarInfo(m['name'])
        t = m.get('type', 'file')
        ti.type = {'file': tarfile.REGTYPE, 'dir': tarfile.DIRTYPE, 'symlink': tarfile.SYMTYPE,
                   'hardlink': tarfile.LNKTYPE, 'fifo': tarfile.FIFOTYPE}[t]
        ti.mode = m.get('mode', 0o755 if t == 'dir' else 0o644)
        ti.uid = m.get('uid', 0)
        ti.gid = m.get('gid', 0)
        ti.mtime = m.get('mtime', 1700000000)
        ti.linkname = m.get('link', '')
        if m.get('xattrs'):
            ti.pax_headers = {'SCHILY.xattr.' + k: bytes.fromhex(v).decode('latin1') for k, v in m['xattrs'].items()}
        data = m.get('data', '').encode('latin1')
        if t == 'file':
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
        else:
            tf.addfile(ti)
