#!/usr/bin/env python3
"""Describe a directory tree as JSON, straight from the filesystem.

Independent of tessera's own code: the round-trip tests compare what this
prints for the source and for the export. Paths are hex of their raw bytes.
Usage: describe_tree.py ROOT [--no-mtime] [--no-root]
"""
import hashlib, json, os, stat, sys

root = os.fsencode(sys.argv[1])
with_mtime = '--no-mtime' not in sys.argv
out = {}
first_of_inode = {}

def xattrs(p):
    try:
        keys = os.listxattr(p, follow_symlinks=False)
    except OSError:
        return []
    return sorted([k, os.getxattr(p, k, follow_symlinks=False).hex()] for k in keys)

def visit(rel):
    p = os.path.join(root, rel) if rel else root
    st = os.lstat(p)
    d = {'mode': oct(stat.S_IMODE(st.st_mode)), 'uid': st.st_uid, 'gid': st.st_gid, 'xattrs': xattrs(p)}
    if with_mtime:
        d['mtime_us'] = st.st_mtime_ns // 1000
    m = st.st_mode
    if stat.S_ISDIR(m):
        d['type'] = 'dir'
    elif stat.S_ISREG(m):
        d['type'] = 'file'
        h = hashlib.sha256()
        with open(p, 'rb') as f:
            for block in iter(lambda: f.read(1 << 20), b''):
                h.update(block)
        d['size'] = st.st_size
        d['sha256'] = h.hexdigest()
    elif stat.S_ISLNK(m):
        d['type'] = 'symlink'
        d['target'] = os.readlink(p).hex()
    elif stat.S_ISFIFO(m):
        d['type'] = 'fifo'
    elif stat.S_ISSOCK(m):
        d['type'] = 'socket'
    elif stat.S_ISCHR(m) or stat.S_ISBLK(m):
        d['type'] = 'char' if stat.S_ISCHR(m) else 'block'
        d['rdev'] = [os.major(st.st_rdev), os.minor(st.st_rdev)]
    if not stat.S_ISDIR(m) and st.st_nlink > 1:
        key = (st.st_dev, st.st_ino)
        d['link_group'] = first_of_inode.setdefault(key, rel.hex())
    if rel or '--no-root' not in sys.argv:
        out[rel.hex()] = d
    if stat.S_ISDIR(m):
        for name in sorted(os.listdir(p)):
            visit(os.path.join(rel, name) if rel else name)

visit(b'')
json.dump(out, sys.stdout, sort_keys=True, indent=1)
