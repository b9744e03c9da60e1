#!/usr/bin/python3
"""Writes the seed corpus of fuzz-image (fuzz/corpus/image/): one small
valid file per format gdk-pixbuf reads, encoded here by hand (PNG in every
colour type, GIF, BMP, PNM, TGA, XPM, XBM) so the bytes are known. The
JPEG and TIFF seeds (rgb.jpg, rgba.tiff) were written once by
gdk_pixbuf_save() from a 6×5 gradient and are kept as they are. Run from
fuzz/; the output is committed."""
import os
import struct
import zlib

OUT = 'corpus/image'


def write(name, data):
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(data)


def chunk(kind, data):
    return (struct.pack('>I', len(data)) + kind + data
            + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff))


def png(w, h, depth, colour, rows, extra=b''):
    raw = b''.join(b'\0' + r for r in rows)
    return (b'\x89PNG\r\n\x1a\n'
            + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, depth, colour, 0, 0, 0))
            + extra + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))


def gif(w, h, palette, indices):
    """GIF89a with a 4-colour table; LZW 'uncompressed': a clear code after
    every two literals keeps the code size at 3 bits."""
    bits, nbits = 0, 0
    out = bytearray()

    def emit(code):
        nonlocal bits, nbits
        bits |= code << nbits
        nbits += 3
        while nbits >= 8:
            out.append(bits & 0xff)
            bits >>= 8
            nbits -= 8
    emit(4)
    for i, p in enumerate(indices):
        emit(p)
        if i % 2 == 1:
            emit(4)
    emit(5)
    if nbits:
        out.append(bits & 0xff)
    blocks = b''.join(bytes([len(out[i:i + 255])]) + bytes(out[i:i + 255])
                      for i in range(0, len(out), 255)) + b'\0'
    return (b'GIF89a' + struct.pack('<HHBBB', w, h, 0xf1, 0, 0) + bytes(palette)
            + b'\x21\xf9\x04\x01\x00\x00\x03\x00'          # transparent index 3
            + b'\x2c' + struct.pack('<HHHHB', 0, 0, w, h, 0) + b'\x02' + blocks + b'\x3b')


def bmp(w, h, rgb_rows):
    stride = (w * 3 + 3) & ~3
    pixels = b''.join(r + b'\0' * (stride - len(r)) for r in reversed(rgb_rows))
    return (b'BM' + struct.pack('<IHHI', 54 + len(pixels), 0, 0, 54)
            + struct.pack('<IiiHHIIiiII', 40, w, h, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
            + pixels)


def main():
    os.makedirs(OUT, exist_ok=True)
    w, h = 4, 3
    rgb = [bytes(v for x in range(w) for v in (60 * x, 80 * y, 200 - 50 * x)) for y in range(h)]
    write('rgb.png', png(w, h, 8, 2, rgb))
    write('grey.png', png(w, h, 8, 0, [bytes(60 * x + 10 * y for x in range(w)) for y in range(h)]))
    write('grey-alpha.png', png(2, 2, 8, 4, [b'\xc8\xff\xc8\x80', b'\xc8\x00\x64\xff']))
    write('rgba.png', png(2, 2, 8, 6, [b'\xff\xff\xff\x80\x0a\x14\x1e\xff',
                                       b'\xff\x00\x00\x00\x00\xff\x00\xff']))
    write('rgb16.png', png(2, 2, 16, 2, [b'\xff\xff\x80\x80\x00\x00' * 2] * 2))
    write('palette-trns.png', png(3, 2, 8, 3, [b'\x00\x01\x02', b'\x02\x01\x00'],
                                  chunk(b'PLTE', bytes([255, 0, 0, 0, 255, 0, 0, 0, 255]))
                                  + chunk(b'tRNS', b'\xff\x80\x00')))
    write('grey1bit.png', png(8, 2, 1, 0, [b'\xa5', b'\x5a']))
    write('tiny.gif', gif(3, 2, [0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255], [0, 1, 2, 3, 2, 1]))
    write('rgb24.bmp', bmp(3, 2, [b'\x00\x00\xff\x00\xff\x00\xff\x00\x00',
                                  b'\xff\xff\xff\x80\x80\x80\x00\x00\x00']))
    write('rgb.ppm', b'P6\n3 2\n255\n' + bytes(range(0, 18 * 14, 14)))
    write('grey.pgm', b'P2\n3 2\n15\n0 5 10\n15 10 5\n')
    write('bits.pbm', b'P4\n8 2\n\xa5\x5a')
    write('rgb.tga', struct.pack('<BBBHHBHHHHBB', 0, 0, 2, 0, 0, 0, 0, 0, 2, 2, 24, 0x20)
          + bytes(range(0, 12 * 20, 20)))
    write('rle.tga', struct.pack('<BBBHHBHHHHBB', 0, 0, 10, 0, 0, 0, 0, 0, 2, 2, 24, 0x20)
          + b'\x81\x10\x20\x30\x01\x40\x50\x60\x70\x80\x90')
    write('icon.xpm', b'/* XPM */\nstatic char *x[] = {\n"3 2 2 1",\n". c #ff0000",\n'
                      b'"# c None",\n".#.",\n"#.#"};\n')
    write('bits.xbm', b'#define b_width 8\n#define b_height 2\n'
                      b'static char b_bits[] = {\n  0xa5, 0x5a, };\n')


if __name__ == '__main__':
    main()
