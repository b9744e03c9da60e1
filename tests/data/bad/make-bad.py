#!/usr/bin/python3
"""Writes the small broken image files in this folder (committed; this script
documents how they were made). Run from this folder.

Each is an input `iodine decompose` must refuse with a message, never crash
on: cut-off and corrupt PNG/JPEG/GIF/BMP files, and headers that claim
absurd dimensions."""
import struct
import zlib


def chunk(kind, data, crc=None):
    if crc is None:
        crc = zlib.crc32(kind + data) & 0xffffffff
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', crc)


def png_bytes(w, h, rows=None, ihdr_w=None, ihdr_h=None, bad_crc=False):
    rows = rows if rows is not None else [bytes(3 * w) for _ in range(h)]
    raw = b''.join(b'\0' + r for r in rows)
    ihdr = struct.pack('>IIBBBBB', ihdr_w if ihdr_w is not None else w,
                       ihdr_h if ihdr_h is not None else h, 8, 2, 0, 0, 0)
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr)
            + chunk(b'IDAT', zlib.compress(raw), 0xdeadbeef if bad_crc else None)
            + chunk(b'IEND', b''))


def write(name, data):
    with open(name, 'wb') as f:
        f.write(data)


good = png_bytes(8, 8, [b''.join(bytes((x * 30, y * 30, 100)) for x in range(8))
                       for y in range(8)])
write('truncated.png', good[:len(good) - 30])          # IDAT cut, no IEND
write('bad-crc.png', png_bytes(8, 8, bad_crc=True))     # IDAT checksum wrong
write('zero-width.png', png_bytes(8, 8, ihdr_w=0))      # IHDR width 0
# IHDR claims 100000×100000 with an 8×8 IDAT: refused before decoding
write('huge-dims.png', png_bytes(8, 8, ihdr_w=100000, ihdr_h=100000))
write('header-only.png', good[:8])                      # signature only
# JPEG: start-of-image and a cut-off quantisation table
write('truncated.jpg', b'\xff\xd8\xff\xdb\x00\x43\x00' + bytes(range(20)))
# GIF: header and a 60000×60000 logical screen, then nothing
write('truncated.gif', b'GIF89a' + struct.pack('<HHBBB', 60000, 60000, 0xf7, 0, 0))
# BMP: 54-byte header claiming 40000×40000 at 24 bits, no pixel data
write('huge.bmp', b'BM' + struct.pack('<IHHI', 54, 0, 0, 54)
      + struct.pack('<IiiHHIIiiII', 40, 40000, 40000, 1, 24, 0, 0, 0, 0, 0, 0))
# BMP: negative width
write('negative-width.bmp', b'BM' + struct.pack('<IHHI', 54 + 16, 0, 0, 54)
      + struct.pack('<IiiHHIIiiII', 40, -2, 2, 1, 32, 0, 16, 0, 0, 0, 0) + bytes(16))
# GIF: a 0×0 logical screen and image (gdk_pixbuf_get_file_info logged a
# GdkPixbuf-CRITICAL on it, found by fuzz-image)
write('zero-size.gif', b'GIF89a' + struct.pack('<HHBBB', 0, 0, 0, 0, 0) + b'\x2c'
      + struct.pack('<HHHHB', 0, 0, 0, 0, 0) + b'\x02\x02\x44\x01\x00\x3b')
# GIF: a 246×255 screen whose one frame is 0×0 (found by fuzz-image); the
# gdk-pixbuf 2.42 GIF loader logs "GdkPixbuf-CRITICAL: gdk_pixbuf_calculate_
# rowstride: assertion 'width > 0' failed" on it, then fails cleanly
write('zero-width-frame.gif',
      b'GIF89a\xf6\x00\xff\x00\xf1\x80\x00\x00\x00\x00\xff?\x00\x00\x00]\xff\x00(\x00'
      b'\xff!\xf9\x04\x01\x00\x00\x03\x00,\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00P4\x00')
