#!/usr/bin/python3
"""Maintainer tool (never run by tests): Pillow's answers for falip's centre-crop test.

Writes test/fixtures/resize/pillow-center-crop.json: for a few synthetic RGB images (the formula
below, which test/unit/input-view.test.ts computes the same way), the sha256 of Pillow's bicubic
resize of the shorter side to 224 and of its centre 224x224 crop, as torchvision's Resize(224,
BICUBIC) and CenterCrop(224) compute them on a PIL image (their size and offset rules written out
here, so torchvision need not be installed). Run with Debian's python3-pil:

    /usr/bin/python3 tools/pillow-center-crop.py
"""
import hashlib
import json
import os
import platform

import PIL
from PIL import Image

SIZE = 224
# (width, height): shrinking both ways, an offset of .5 (rounded half to even), enlarging
# (EuroSAT's 64x64, a small Caltech-like image), a side already 224, a very wide image.
IMAGES = [(500, 375), (320, 480), (640, 427), (64, 64), (100, 80), (224, 300), (1000, 224), (301, 299)]


def pixel(x, y, c):
    """Gradients, a checkerboard and a quadratic texture: every spatial frequency resampling can blur."""
    board = 200 if (x // 9 + y // 7) % 2 == 0 else 0
    return (x * 7 + y * 13 + c * 50 + ((x * x + 3 * y * y + x * y * c) % 97) * 2 + board) % 256


def image(w, h):
    data = bytes(pixel(x, y, c) for y in range(h) for x in range(w) for c in range(3))
    return Image.frombytes('RGB', (w, h), data)


def center_crop_geometry(w, h, size):
    """torchvision's _compute_resized_output_size and center_crop offsets."""
    short, long = (w, h) if w <= h else (h, w)
    new_long = int(size * long / short)
    nw, nh = (size, new_long) if w <= h else (new_long, size)
    return nw, nh, int(round((nw - size) / 2.0)), int(round((nh - size) / 2.0))


def sha(img):
    return hashlib.sha256(img.tobytes()).hexdigest()


entries = []
for w, h in IMAGES:
    nw, nh, left, top = center_crop_geometry(w, h, SIZE)
    src = image(w, h)
    resized = src.resize((nw, nh), Image.BICUBIC)
    crop = resized.crop((left, top, left + SIZE, top + SIZE))
    entries.append({
        'width': w, 'height': h, 'input_sha256': sha(src),
        'resized': [nw, nh], 'resized_sha256': sha(resized),
        'left': left, 'top': top, 'crop_sha256': sha(crop),
    })

out = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'resize', 'pillow-center-crop.json')
with open(out, 'w') as f:
    json.dump({'pillow': PIL.__version__, 'python': platform.python_version(), 'size': SIZE, 'images': entries}, f, indent=2)
    f.write('\n')
print(out)
