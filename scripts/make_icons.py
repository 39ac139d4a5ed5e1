"""Generate the app icons in static/icons/ from the source images in icons/ (`make icons`).

Each source (a square PNG, at least 512 px) gives a 192 and a 512 px icon, and a maskable
512 px icon whose artwork sits inside the central 80 % safe zone on the source's background.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "icons"
TARGET = ROOT / "static" / "icons"
SAFE_ZONE = 0.8


def icons_for(source: Path) -> dict[str, Image.Image]:
    """The icon images one source yields, by file name."""
    image = Image.open(source).convert("RGBA")
    if image.width != image.height or image.width < 512:
        raise SystemExit(f"{source}: must be square and at least 512 px")
    name = source.stem
    result = {
        f"{name}-{size}.png": image.resize((size, size), Image.Resampling.LANCZOS)
        for size in (192, 512)
    }
    background = image.getpixel((0, 0))
    maskable = Image.new("RGBA", (512, 512), background)
    inner = round(512 * SAFE_ZONE)
    offset = (512 - inner) // 2
    maskable.paste(image.resize((inner, inner), Image.Resampling.LANCZOS), (offset, offset))
    result[f"{name}-maskable-512.png"] = maskable
    return result


def main() -> int:
    TARGET.mkdir(parents=True, exist_ok=True)
    for source in sorted(SOURCES.glob("*.png")):
        for file_name, image in icons_for(source).items():
            image.save(TARGET / file_name, optimize=True)
            print(f"static/icons/{file_name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
