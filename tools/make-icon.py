#!/usr/bin/python3
"""Draws src/Package/icon.png (128x128): a small multilayer perceptron, three layers of nodes and their connections,
light on a dark blue square. Standard library only (zlib for the PNG), so it runs anywhere:

    /usr/bin/python3 tools/make-icon.py
"""
import math
import os
import struct
import zlib

SIZE = 128
BACKGROUND = (22, 45, 92)
EDGE = (110, 160, 230)
NODE = (245, 248, 255)

pixels = [[list(BACKGROUND) for _ in range(SIZE)] for _ in range(SIZE)]


def blend(x, y, color, alpha):
    if 0 <= x < SIZE and 0 <= y < SIZE and alpha > 0:
        p = pixels[y][x]
        for i in range(3):
            p[i] = round(p[i] * (1 - alpha) + color[i] * alpha)


def line(x0, y0, x1, y1, color, width):
    # Antialiased by distance from the segment.
    for y in range(SIZE):
        for x in range(SIZE):
            dx, dy = x1 - x0, y1 - y0
            t = max(0.0, min(1.0, ((x - x0) * dx + (y - y0) * dy) / (dx * dx + dy * dy)))
            d = math.hypot(x - (x0 + t * dx), y - (y0 + t * dy))
            blend(x, y, color, max(0.0, min(1.0, width / 2 + 0.5 - d)) * 0.7)


def disc(cx, cy, r, color):
    for y in range(int(cy - r - 2), int(cy + r + 3)):
        for x in range(int(cx - r - 2), int(cx + r + 3)):
            blend(x, y, color, max(0.0, min(1.0, r + 0.5 - math.hypot(x - cx, y - cy))))


layers = [[28, 52, 76, 100], [40, 64, 88], [52, 76]]
columns = [26, 64, 102]
for a in range(len(layers) - 1):
    for ya in layers[a]:
        for yb in layers[a + 1]:
            line(columns[a], ya, columns[a + 1], yb, EDGE, 2.0)
for c, ys in zip(columns, layers):
    for y in ys:
        disc(c, y, 8.5, NODE)

raw = b"".join(b"\x00" + bytes(v for p in row for v in p) for row in pixels)


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", SIZE, SIZE, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "Package", "icon.png")
with open(path, "wb") as f:
    f.write(png)
