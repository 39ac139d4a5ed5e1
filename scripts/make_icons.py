"""Generate the app icons in static/icons/ from the source images in icons/ (`make icons`).

Each source (an opaque square PNG, at least 512 px) gives a 192 and a 512 px icon, and a
maskable 512 px icon whose artwork sits inside the central 80 % safe zone on the source's
background. The icons are flat and few-coloured, so each is saved as a palette PNG: a third of
the bytes of full colour, which matters because Chrome downloads the maskable one on a first
visit to check that the app is installable.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "icons"
TARGET = ROOT / "static" / "icons"
SAFE_ZONE = 0.8
# Enough for the anti-aliased edges between a few flat colours to look as in full colour
# (largest channel error 30/255, on edge pixels only; the flat areas keep their exact colour).
COLOURS = 32


def palette(image: Image.Image) -> Image.Image:
    """An opaque image reduced to an adaptive palette of COLOURS colours, not dithered."""
    # Median cut keeps the flat colours exact; dithering would only add noise and bytes.
    return image.convert("RGB").quantize(
        colors=COLOURS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
    )


def palette_icons(source: Path) -> dict[str, Image.Image]:
    """The palette images one source yields, by file name, as `main` saves them."""
    image = Image.open(source).convert("RGBA")
    if image.width != image.height or image.width < 512:
        raise SystemExit(f"{source}: must be square and at least 512 px")
    if image.getextrema()[3][0] < 255:
        raise SystemExit(f"{source}: must be opaque (icons are saved without transparency)")
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
    return {file_name: palette(icon) for file_name, icon in result.items()}


def icons_for(source: Path) -> dict[str, Image.Image]:
    """The icon images one source yields, by file name, in RGBA as the saved files decode."""
    return {name: icon.convert("RGBA") for name, icon in palette_icons(source).items()}


def main() -> int:
    TARGET.mkdir(parents=True, exist_ok=True)
    for source in sorted(SOURCES.glob("*.png")):
        for file_name, image in palette_icons(source).items():
            image.save(TARGET / file_name, optimize=True)
            print(f"static/icons/{file_name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
