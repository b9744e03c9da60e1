#!/usr/bin/python3
"""Writes broken variants of a valid weights file for the bad-input tests.

    make-bad-weights.py VALID.safetensors OUTDIR

Each variant is named after the problem it has (OUTDIR/CASE.safetensors);
only struct and json are used, so any python3 runs it.
"""
import json
import struct
import sys


def read(path):
    data = open(path, 'rb').read()
    n = struct.unpack('<Q', data[:8])[0]
    header = json.loads(data[8:8 + n])
    return header, data[8 + n:]


def pack(header, body):
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * (-len(h) % 8)
    return struct.pack('<Q', len(h)) + h + body


def main():
    src, out = sys.argv[1], sys.argv[2]
    raw = open(src, 'rb').read()
    header, body = read(src)
    cases = {}

    # not a safetensors file at all / cut short / nothing
    cases['empty'] = b''
    cases['truncated'] = raw[:len(raw) // 2]
    cases['truncated-header'] = raw[:20]
    cases['png-bytes'] = b'\x89PNG\r\n\x1a\n' + b'\0' * 64
    cases['text'] = b'these are not weights\n' * 4
    # header length claims far more than the file (and than any sane header)
    cases['oversized-header'] = struct.pack('<Q', 1 << 40) + raw[8:]
    cases['header-past-end'] = struct.pack('<Q', len(raw) + 100) + raw[8:]
    cases['header-not-json'] = struct.pack('<Q', 16) + b'{"a": [1, 2,,,}' + b' ' + body

    # wrong dtype: one tensor claims F64, its shape halved to fit its bytes
    h = json.loads(json.dumps(header))
    h['init.lambda']['dtype'] = 'F64'
    a, b = h['init.lambda']['data_offsets']
    h['init.lambda']['shape'] = [(b - a) // 8]
    cases['dtype-f64'] = pack(h, body)

    # NaN and Inf in a weight
    for name, value in (('nan', float('nan')), ('inf', float('inf'))):
        a, b = header['decoder.conv.1.weight']['data_offsets']
        nb = bytearray(body)
        nb[a + 4:a + 8] = struct.pack('<f', value)
        cases[name] = pack(header, bytes(nb))

    # shapes that do not fit together: a conv with the wrong input channels,
    # consistently sized so the file itself is well-formed
    h = json.loads(json.dumps(header))
    name = 'decoder.conv.1.weight'
    cout, cin, k1, k2 = h[name]['shape']
    a, b = h[name]['data_offsets']
    h[name]['shape'] = [cout * 2, cin // 2, k1, k2]
    cases['shape-mismatch'] = pack(h, body)

    # a tensor missing: the one stored last, its bytes cut off too
    h = json.loads(json.dumps(header))
    last = max((k for k in h if k != '__metadata__'), key=lambda k: h[k]['data_offsets'][0])
    a, _ = h.pop(last)['data_offsets']
    cases['missing-tensor'] = pack(h, body[:a])

    # metadata: another format version, another format, absurd slots
    for case, key, value in (('format-version-2', 'format_version', '2'),
                             ('format-other', 'format', 'not-iodine'),
                             ('slots-meta-100000', 'slots', '100000'),
                             ('latent-meta-mismatch', 'latent_dim', '5')):
        h = json.loads(json.dumps(header))
        h['__metadata__'][key] = value
        cases[case] = pack(h, body)
    h = json.loads(json.dumps(header))
    del h['__metadata__']
    cases['no-metadata'] = pack(h, body)

    for case, data in cases.items():
        with open('%s/%s.safetensors' % (out, case), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
