"""Draws docs/examples/rectified.png, the rectification photo (整改照片) the demo and the tests attach before a
major hazard's submit (the shipped workflow requires one): a few KB, made with Pillow, no EXIF.

    .venv/bin/python docs/examples/make_rectified_photo.py
"""
from pathlib import Path

from PIL import Image, ImageDraw


def main() -> Path:
    out = Path(__file__).with_name("rectified.png")
    image = Image.new("RGB", (160, 120), (222, 230, 236))
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 40, 70, 110), fill=(150, 150, 160))          # a tank
    draw.ellipse((20, 30, 70, 50), fill=(170, 170, 180))
    draw.rectangle((100, 50, 130, 80), fill=(240, 240, 240), outline=(60, 60, 60))  # the new gas alarm
    draw.ellipse((108, 56, 122, 70), fill=(210, 40, 40))
    draw.line((70, 65, 100, 65), fill=(60, 60, 60), width=2)
    image.save(out, format="PNG", optimize=True)
    return out


if __name__ == "__main__":
    print(main())
