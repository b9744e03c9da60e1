#!/usr/bin/python3
"""Writes the small PNGs test-image-io loads (grey, grey+alpha, palette,
16-bit, RGBA, 1x1) with a hand-rolled PNG encoder, so the expected pixel
values below are known exactly.  Run from this folder; the output is
committed, so this only documents how the files were made."""
import struct, zlib

def chunk(kind, data):
    c = struct.pack(">I", len(data)) + kind + data
    return c + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)

def png(name, w, h, bit_depth, colour_type, rows, extra=b""):
    raw = b"".join(b"\x00" + r for r in rows)
    ihdr = struct.pack(">IIBBBBB", w, h, bit_depth, colour_type, 0, 0, 0)
    with open(name, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))

# grey 4x3: value 60*x + 10*y
png("grey.png", 4, 3, 8, 0, [bytes(60 * x + 10 * y for x in range(4)) for y in range(3)])
# grey+alpha 2x2: grey 200, alpha 255, 128, 0, 255
ga = [(200, 255), (200, 128), (200, 0), (100, 255)]
png("grey-alpha.png", 2, 2, 8, 4, [bytes(sum(ga[0:2], ())), bytes(sum(ga[2:4], ()))])
# palette 3x2: indices 0 1 2 / 2 1 0 with red, green, blue
plte = chunk(b"PLTE", bytes([255, 0, 0, 0, 255, 0, 0, 0, 255]))
png("palette.png", 3, 2, 8, 3, [bytes([0, 1, 2]), bytes([2, 1, 0])], plte)
# 16-bit RGB 2x2: (65535, 32896, 0) and (0, 0, 65535) alternating
p = [struct.pack(">HHH", 65535, 32896, 0), struct.pack(">HHH", 0, 0, 65535)]
png("rgb16.png", 2, 2, 16, 2, [p[0] + p[1], p[1] + p[0]])
# RGBA 2x2: (255, 255, 255, 128), (10, 20, 30, 255), (255, 0, 0, 0), (0, 255, 0, 255)
png("rgba.png", 2, 2, 8, 6, [bytes([255, 255, 255, 128, 10, 20, 30, 255]),
                             bytes([255, 0, 0, 0, 0, 255, 0, 255])])
# 1x1
png("one-pixel.png", 1, 1, 8, 2, [bytes([1, 2, 3])])
open("empty.png", "wb").close()
with open("text.png", "w") as f:
    f.write("this is not a PNG file\n")
# A 10000x9000 RGB image with only its first row of pixel data: must be
# refused by its size before anything is decoded.
with open("huge.png", "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 10000, 9000, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compressobj().compress(bytes(30001)) + b"\0" * 64) + chunk(b"IEND", b""))
