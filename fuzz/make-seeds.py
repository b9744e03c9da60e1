#!/usr/bin/env python3
"""Writes the seed corpus of fuzz-tensorfile (corpus/tensorfile/): a few
small safetensors files, valid and invalid, that reach every check of the
reader. Rerun after changing; the files are committed."""
import json, os, struct

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "tensorfile")
os.makedirs(out, exist_ok=True)


def f32(*values):
    return struct.pack("<%df" % len(values), *values)


def tensors(specs, metadata=None, pad=True):
    """specs: (name, shape, floats); offsets laid end to end."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, shape, values in specs:
        header[name] = {"dtype": "F32", "shape": shape,
                        "data_offsets": [len(data), len(data) + 4 * len(values)]}
        data += f32(*values)
    return raw(json.dumps(header, separators=(",", ":")), data, pad)


def raw(text, data=b"", pad=True, length=None):
    h = text.encode("utf-8") if isinstance(text, str) else text
    if pad:
        h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    return struct.pack("<Q", len(h) if length is None else length) + h + data


seeds = {
    "valid-weights": tensors([("init.lambda", [4], [0.5, -1, 2, 0]),
                              ("refine.update.bias", [2], [1, 2]),
                              ("refine.conv.0.weight", [1, 1, 2, 2], [1, 2, 3, 4])],
                             {"format": "iodine", "format_version": "1", "slots": "4"}),
    "valid-empty": raw("{}"),
    "valid-scalar-and-empty": tensors([("s", [], [42]), ("e", [0], []), ("z", [2, 0, 3], [])]),
    "valid-unaligned": tensors([("a", [3], [1, 2, 3])], {"k": "v \"q\" \u00e9"}, pad=False),
    "valid-reordered": raw('{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},'
                           '"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', f32(1, 2)),
    "bad-f16": raw('{"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}', b"\0" * 4),
    "bad-overlap": raw('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
                       '"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}', f32(1, 2, 3)),
    "bad-gap": raw('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
                   '"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}', f32(1, 2, 3)),
    "bad-duplicate": raw('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
                         '"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', f32(1, 2)),
    "bad-metadata": raw('{"__metadata__":{"slots":4}}'),
    "bad-length": raw("{}", length=1 << 40),
    "bad-truncated": tensors([("a", [4], [1, 2, 3, 4])])[:-5],
    "bad-shape": raw('{"w":{"dtype":"F32","shape":[-1,1.5],"data_offsets":[0,4]}}', f32(1)),
    "bad-nesting": raw('{"w":' + "[" * 40 + "]" * 40 + "}"),
}
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as fh:
        fh.write(data)
