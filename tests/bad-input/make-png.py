#!/usr/bin/python3
"""Writes a flat-coloured RGB PNG of any size with only the standard library.

    make-png.py OUT.png WIDTH HEIGHT

Rows are compressed one at a time, so a 6000×6000 image takes little memory
and only a few hundred kilobytes on disk.
"""
import struct
import sys
import zlib


def chunk(kind, data):
    return (struct.pack('>I', len(data)) + kind + data
            + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff))


def main():
    path, width, height = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    row = b'\0' + bytes((40, 120, 200)) * width
    z = zlib.compressobj(9)
    idat = b''.join(z.compress(row) for _ in range(height)) + z.flush()
    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n')
        f.write(chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)))
        f.write(chunk(b'IDAT', idat))
        f.write(chunk(b'IEND', b''))


if __name__ == '__main__':
    main()
