#!/usr/bin/env python3
"""Render one short, silent demo clip per product of the packaged demo catalog.

Every frame is drawn with Pillow from the product's row alone (title, price,
category, sku), then piped as raw RGB into the ffmpeg binary shipped by the
PyPI package ``imageio-ffmpeg`` and encoded as H.264 MP4 (yuv420p, faststart).
Nothing is random and nothing is downloaded: the same catalog gives the same
frames, and the single-threaded, bit-exact encoder gives the same bytes.

Usage (the tools live in their own virtual environment, not the project's)::

    python3 -m venv /tmp/clipvenv
    /tmp/clipvenv/bin/pip install pillow imageio-ffmpeg
    /tmp/clipvenv/bin/python scripts/make_demo_clips.py

Writes ``src/reelcart/demo_data/clips/<sku>.mp4`` and ``clips/index.json``.
"""

from __future__ import annotations

import argparse
import colorsys
import csv
import hashlib
import json
import math
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
from PIL import Image, ImageDraw, ImageFont

REPO = Path(__file__).resolve().parent.parent
DATA_DIR = REPO / "src" / "reelcart" / "demo_data"
DEFAULT_CATALOG = DATA_DIR / "catalog.csv"
DEFAULT_OUT = DATA_DIR / "clips"

WIDTH, HEIGHT = 240, 426  # 9:16 portrait, both even as yuv420p requires
FPS = 12
SECONDS = 3
FRAMES = FPS * SECONDS
SS = 2  # frames are drawn at twice the size and scaled down, for smooth edges
MAX_BYTES = 40 * 1024
FIRST_CRF = 28
LAST_CRF = 40

RGB = tuple[int, int, int]
Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Palette:
    """Colours of one category: a vertical gradient, an accent and the text colour."""

    top: RGB
    bottom: RGB
    accent: RGB
    text: RGB


PALETTES: dict[str, Palette] = {
    "sneakers": Palette((255, 110, 64), (176, 32, 64), (255, 224, 96), (255, 255, 255)),
    "coffee": Palette((128, 88, 60), (44, 28, 20), (238, 196, 140), (255, 244, 228)),
    "skincare": Palette((255, 214, 214), (226, 146, 178), (255, 255, 255), (70, 30, 56)),
    "plants": Palette((92, 184, 92), (18, 84, 52), (214, 255, 190), (255, 255, 255)),
    "headphones": Palette((46, 46, 104), (8, 8, 28), (0, 224, 255), (255, 255, 255)),
    "books": Palette((36, 58, 112), (14, 22, 52), (250, 232, 184), (255, 250, 236)),
    "board-games": Palette((0, 158, 142), (0, 72, 86), (255, 204, 48), (255, 255, 255)),
    "courses": Palette((110, 80, 236), (48, 18, 118), (124, 255, 204), (255, 255, 255)),
}
FALLBACK_PALETTE = Palette((90, 90, 96), (30, 30, 34), (255, 255, 255), (255, 255, 255))


@dataclass(frozen=True)
class Product:
    """The fields of a catalog row that a clip shows."""

    sku: str
    title: str
    price: str
    currency: str
    category: str


@dataclass(frozen=True)
class Look:
    """Per-product variations, derived from a hash of the sku so they never change."""

    palette: Palette
    shape: int  # 0 circle, 1 ring, 2 square, 3 triangle
    orbit_dir: int  # +1 or -1
    phase: float  # radians
    band_angle: float  # degrees
    band_speed: float  # band crossings per clip


def _seed(sku: str) -> bytes:
    return hashlib.sha256(sku.encode("utf-8")).digest()


def _shift_hue(color: RGB, amount: float) -> RGB:
    r, g, b = (c / 255 for c in color)
    h, s, v = colorsys.rgb_to_hsv(r, g, b)
    r, g, b = colorsys.hsv_to_rgb((h + amount) % 1.0, s, v)
    return (round(r * 255), round(g * 255), round(b * 255))


def look_for(product: Product) -> Look:
    """Choose the deterministic variations that keep clips of one category apart."""
    seed = _seed(product.sku)
    base = PALETTES.get(product.category, FALLBACK_PALETTE)
    hue = (seed[0] / 255 - 0.5) * 0.08  # at most +-4% of the hue circle
    palette = Palette(
        _shift_hue(base.top, hue),
        _shift_hue(base.bottom, hue),
        base.accent,
        base.text,
    )
    return Look(
        palette=palette,
        shape=seed[1] % 4,
        orbit_dir=1 if seed[2] % 2 else -1,
        phase=seed[3] / 255 * 2 * math.pi,
        band_angle=-30 + seed[4] / 255 * 60,
        band_speed=1.0 + (seed[5] % 2),
    )


# --- category glyphs: small pictograms drawn with plain shapes --------------


def _leaf(
    cx: float, cy: float, length: float, width: float, angle: float
) -> list[tuple[float, float]]:
    """Points of a pointed leaf that starts at (cx, cy) and grows along `angle`."""
    points = []
    steps = 16
    ca, sa = math.cos(angle), math.sin(angle)
    for side in (1, -1):
        rng = range(steps + 1) if side == 1 else range(steps, -1, -1)
        for i in rng:
            t = i / steps
            along = t * length
            across = side * math.sin(math.pi * t) * width / 2
            points.append((cx + along * ca - across * sa, cy + along * sa + across * ca))
    return points


def glyph_sneakers(d: ImageDraw.ImageDraw, x: float, y: float, s: float, c: RGB) -> None:
    upper = [
        (x + 0.06 * s, y + 0.72 * s),
        (x + 0.10 * s, y + 0.30 * s),
        (x + 0.34 * s, y + 0.30 * s),
        (x + 0.46 * s, y + 0.48 * s),
        (x + 0.80 * s, y + 0.56 * s),
        (x + 0.96 * s, y + 0.70 * s),
        (x + 0.96 * s, y + 0.72 * s),
    ]
    d.polygon(upper, fill=c)
    d.rounded_rectangle((x + 0.02 * s, y + 0.70 * s, x + s, y + 0.84 * s), radius=0.06 * s, fill=c)
    for i in range(3):
        lx = x + (0.40 + 0.11 * i) * s
        d.line(
            (lx, y + 0.46 * s, lx + 0.08 * s, y + 0.60 * s),
            fill=(0, 0, 0, 90),
            width=max(2, int(0.04 * s)),
        )


def glyph_coffee(d: ImageDraw.ImageDraw, x: float, y: float, s: float, c: RGB) -> None:
    w = max(2, int(0.07 * s))
    d.rounded_rectangle(
        (x + 0.10 * s, y + 0.40 * s, x + 0.70 * s, y + 0.90 * s), radius=0.12 * s, fill=c
    )
    d.ellipse((x + 0.58 * s, y + 0.48 * s, x + 0.92 * s, y + 0.78 * s), outline=c, width=w)
    d.line((x + 0.02 * s, y + 0.95 * s, x + 0.86 * s, y + 0.95 * s), fill=c, width=w)
    for i in range(3):
        sx = x + (0.22 + 0.16 * i) * s
        d.arc((sx - 0.06 * s, y + 0.06 * s, sx + 0.06 * s, y + 0.20 * s), 90, 270, fill=c, width=w)
        d.arc((sx - 0.06 * s, y + 0.19 * s, sx + 0.06 * s, y + 0.33 * s), 270, 90, fill=c, width=w)


def glyph_skincare(d: ImageDraw.ImageDraw, x: float, y: float, s: float, c: RGB) -> None:
    d.rounded_rectangle(
        (x + 0.20 * s, y + 0.42 * s, x + 0.62 * s, y + 0.98 * s), radius=0.10 * s, fill=c
    )
    d.rectangle((x + 0.33 * s, y + 0.28 * s, x + 0.49 * s, y + 0.42 * s), fill=c)
    d.ellipse((x + 0.29 * s, y + 0.04 * s, x + 0.53 * s, y + 0.30 * s), fill=c)
    d.rectangle((x + 0.26 * s, y + 0.60 * s, x + 0.56 * s, y + 0.76 * s), fill=(0, 0, 0, 60))
    # a drop falling beside the bottle
    d.ellipse((x + 0.72 * s, y + 0.52 * s, x + 0.92 * s, y + 0.72 * s), fill=c)
    d.polygon(
        [(x + 0.73 * s, y + 0.59 * s), (x + 0.82 * s, y + 0.38 * s), (x + 0.91 * s, y + 0.59 * s)],
        fill=c,
    )


def glyph_plants(d: ImageDraw.ImageDraw, x: float, y: float, s: float, c: RGB) -> None:
    w = max(2, int(0.06 * s))
    d.line((x + 0.5 * s, y + 0.66 * s, x + 0.5 * s, y + 0.30 * s), fill=c, width=w)
    d.polygon(_leaf(x + 0.5 * s, y + 0.50 * s, 0.44 * s, 0.22 * s, -2.5), fill=c)
    d.polygon(_leaf(x + 0.5 * s, y + 0.42 * s, 0.44 * s, 0.22 * s, -0.6), fill=c)
    d.polygon(_leaf(x + 0.5 * s, y + 0.32 * s, 0.30 * s, 0.16 * s, -1.57), fill=c)
    d.polygon(
        [
            (x + 0.22 * s, y + 0.64 * s),
            (x + 0.78 * s, y + 0.64 * s),
            (x + 0.70 * s, y + 0.98 * s),
            (x + 0.30 * s, y + 0.98 * s),
        ],
        fill=c,
    )


def glyph_headphones(d: ImageDraw.ImageDraw, x: float, y: float, s: float, c: RGB) -> None:
    d.arc(
        (x + 0.10 * s, y + 0.08 * s, x + 0.90 * s, y + 0.88 * s),
        180,
        360,
        fill=c,
        width=max(2, int(0.09 * s)),
    )
    d.line(
        (x + 0.14 * s, y + 0.48 * s, x + 0.14 * s, y + 0.60 * s),
        fill=c,
        width=max(2, int(0.09 * s)),
    )
    d.line(
        (x + 0.86 * s, y + 0.48 * s, x + 0.86 * s, y + 0.60 * s),
        fill=c,
        width=max(2, int(0.09 * s)),
    )
    d.rounded_rectangle(
        (x + 0.02 * s, y + 0.52 * s, x + 0.30 * s, y + 0.94 * s), radius=0.08 * s, fill=c
    )
    d.rounded_rectangle(
        (x + 0.70 * s, y + 0.52 * s, x + 0.98 * s, y + 0.94 * s), radius=0.08 * s, fill=c
    )


def glyph_books(d: ImageDraw.ImageDraw, x: float, y: float, s: float, c: RGB) -> None:
    d.polygon(
        [
            (x + 0.02 * s, y + 0.22 * s),
            (x + 0.48 * s, y + 0.30 * s),
            (x + 0.48 * s, y + 0.92 * s),
            (x + 0.02 * s, y + 0.84 * s),
        ],
        fill=c,
    )
    d.polygon(
        [
            (x + 0.52 * s, y + 0.30 * s),
            (x + 0.98 * s, y + 0.22 * s),
            (x + 0.98 * s, y + 0.84 * s),
            (x + 0.52 * s, y + 0.92 * s),
        ],
        fill=c,
    )
    w = max(1, int(0.035 * s))
    for i in range(4):
        ly = y + (0.42 + 0.10 * i) * s
        d.line((x + 0.10 * s, ly, x + 0.40 * s, ly + 0.04 * s), fill=(0, 0, 0, 80), width=w)
        d.line((x + 0.60 * s, ly + 0.04 * s, x + 0.90 * s, ly), fill=(0, 0, 0, 80), width=w)


def glyph_board_games(d: ImageDraw.ImageDraw, x: float, y: float, s: float, c: RGB) -> None:
    d.rounded_rectangle(
        (x + 0.08 * s, y + 0.08 * s, x + 0.92 * s, y + 0.92 * s), radius=0.16 * s, fill=c
    )
    r = 0.08 * s
    for px, py in ((0.30, 0.30), (0.70, 0.30), (0.50, 0.50), (0.30, 0.70), (0.70, 0.70)):
        cx, cy = x + px * s, y + py * s
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(0, 0, 0, 150))


def glyph_courses(d: ImageDraw.ImageDraw, x: float, y: float, s: float, c: RGB) -> None:
    w = max(2, int(0.07 * s))
    d.rounded_rectangle(
        (x + 0.02 * s, y + 0.12 * s, x + 0.98 * s, y + 0.74 * s),
        radius=0.08 * s,
        outline=c,
        width=w,
    )
    d.polygon(
        [(x + 0.40 * s, y + 0.26 * s), (x + 0.66 * s, y + 0.43 * s), (x + 0.40 * s, y + 0.60 * s)],
        fill=c,
    )
    d.line((x + 0.50 * s, y + 0.74 * s, x + 0.50 * s, y + 0.88 * s), fill=c, width=w)
    d.line((x + 0.26 * s, y + 0.90 * s, x + 0.74 * s, y + 0.90 * s), fill=c, width=w)


def glyph_fallback(d: ImageDraw.ImageDraw, x: float, y: float, s: float, c: RGB) -> None:
    d.rounded_rectangle(
        (x + 0.1 * s, y + 0.3 * s, x + 0.9 * s, y + 0.95 * s), radius=0.1 * s, fill=c
    )
    d.arc(
        (x + 0.3 * s, y + 0.05 * s, x + 0.7 * s, y + 0.55 * s),
        180,
        360,
        fill=c,
        width=max(2, int(0.07 * s)),
    )


GLYPHS: dict[str, Callable[[ImageDraw.ImageDraw, float, float, float, RGB], None]] = {
    "sneakers": glyph_sneakers,
    "coffee": glyph_coffee,
    "skincare": glyph_skincare,
    "plants": glyph_plants,
    "headphones": glyph_headphones,
    "books": glyph_books,
    "board-games": glyph_board_games,
    "courses": glyph_courses,
}


# --- frame drawing -----------------------------------------------------------


def _font(size: float) -> ImageFont.FreeTypeFont:
    # Pillow's bundled font (Aileron) needs no system font; size needs Pillow >= 10.1.
    font = ImageFont.load_default(size=int(size))
    if not isinstance(font, ImageFont.FreeTypeFont):
        raise SystemExit("this Pillow has no FreeType support; install a Pillow wheel from PyPI")
    return font


def _gradient(width: int, height: int, top: RGB, bottom: RGB) -> Image.Image:
    column = Image.new("RGB", (1, height))
    for yy in range(height):
        t = yy / max(1, height - 1)
        column.putpixel(
            (0, yy), tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        )
    return column.resize((width, height), Image.Resampling.NEAREST)


def _fit_title(title: str, max_width: float) -> tuple[ImageFont.FreeTypeFont, list[str]]:
    """Largest font whose wrapped title fits in 4 lines; words split only as a last resort."""
    for split_words in (False, True):
        for size in range(30, 15, -2):
            font = _font(size * SS)
            for chars in range(24, 5, -1):
                lines = textwrap.wrap(
                    title, width=chars, break_long_words=split_words, break_on_hyphens=False
                )
                if len(lines) <= 4 and all(font.getlength(line) <= max_width for line in lines):
                    return font, lines
    return font, lines[:4]


def _ease_out(t: float) -> float:
    t = min(1.0, max(0.0, t))
    return 1 - (1 - t) ** 3


def _format_price(product: Product) -> str:
    # The bundled font has no euro sign, so the ISO code is shown instead.
    return f"{product.price} {product.currency}"


class ClipRenderer:
    """Draws the frames of one product's clip; layers that never move are drawn once."""

    def __init__(self, product: Product) -> None:
        self.product = product
        self.look = look_for(product)
        self.w, self.h = WIDTH * SS, HEIGHT * SS
        pal = self.look.palette
        self.background = _gradient(self.w, self.h, pal.top, pal.bottom)
        self.title_font, self.title_lines = _fit_title(product.title, self.w - 36 * SS)
        self.small_font = _font(11 * SS)
        self.price_font = _font(20 * SS)

    def _shape(
        self, d: ImageDraw.ImageDraw, cx: float, cy: float, r: float, fill: tuple[int, ...]
    ) -> None:
        kind = self.look.shape
        if kind == 0:
            d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
        elif kind == 1:
            d.ellipse((cx - r, cy - r, cx + r, cy + r), outline=fill, width=int(r * 0.35))
        elif kind == 2:
            d.rounded_rectangle((cx - r, cy - r, cx + r, cy + r), radius=r * 0.25, fill=fill)
        else:
            d.regular_polygon((cx, cy, r * 1.15), 3, rotation=0, fill=fill)

    def frame(self, index: int) -> Image.Image:
        """Frame `index` (0-based) as an RGB image of WIDTH x HEIGHT."""
        t = index / FRAMES  # 0 .. just under 1, so the motion loops seamlessly
        look, pal, w, h = self.look, self.look.palette, self.w, self.h
        img = self.background.copy()
        d = ImageDraw.Draw(img, "RGBA")  # RGBA mode blends translucent fills

        # Moving layer: a translucent band sliding across and a shape on an orbit.
        span = h * 1.6
        offset = ((t * look.band_speed) % 1.0) * span - span * 0.3
        slope = math.tan(math.radians(look.band_angle))
        band_h = 70 * SS
        d.polygon(
            [
                (0, offset),
                (w, offset + w * slope),
                (w, offset + w * slope + band_h),
                (0, offset + band_h),
            ],
            fill=(*pal.accent, 46),
        )
        angle = look.phase + look.orbit_dir * 2 * math.pi * t
        cx = w / 2 + math.cos(angle) * w * 0.30
        cy = h * 0.86 + math.sin(angle) * h * 0.05
        self._shape(d, cx, cy, 20 * SS, (*pal.accent, 150))
        big = 110 * SS + 12 * SS * math.sin(2 * math.pi * t)
        d.ellipse(
            (w - big * 0.55, -big * 0.45, w + big * 0.45, big * 0.55), fill=(255, 255, 255, 28)
        )

        # Front layer: glyph badge, category, zooming title, price pill.
        pulse = 1 + 0.06 * math.sin(2 * math.pi * t * 2)
        gs = 40 * SS * pulse
        gx, gy = 16 * SS + (40 * SS - gs) / 2, 18 * SS + (40 * SS - gs) / 2
        d.rounded_rectangle(
            (10 * SS, 12 * SS, 62 * SS, 64 * SS),
            radius=12 * SS,
            outline=(*pal.accent, 255),
            width=2 * SS,
        )
        glyph = GLYPHS.get(self.product.category, glyph_fallback)
        glyph(d, gx + 4 * SS, gy + 4 * SS, gs - 8 * SS, pal.accent)
        d.text(
            (72 * SS, 28 * SS),
            self.product.category.replace("-", " ").upper(),
            font=self.small_font,
            fill=pal.text,
        )
        d.text((72 * SS, 44 * SS), self.product.sku, font=self.small_font, fill=(*pal.text, 180))

        zoom = 0.78 + 0.22 * _ease_out(t / 0.25)
        font = self.title_font if zoom >= 0.999 else _font(self.title_font.size * zoom)
        line_h = font.size * 1.18
        block_h = line_h * len(self.title_lines)
        top = h * 0.44 - block_h / 2
        for i, line in enumerate(self.title_lines):
            lw = font.getlength(line)
            d.text(
                ((w - lw) / 2, top + i * line_h),
                line,
                font=font,
                fill=pal.text,
                stroke_width=SS,
                stroke_fill=pal.text,
            )

        price = _format_price(self.product)
        pw = self.price_font.getlength(price)
        px0, py0 = (w - pw) / 2 - 16 * SS, h * 0.66
        d.rounded_rectangle(
            (px0, py0, px0 + pw + 32 * SS, py0 + 34 * SS), radius=17 * SS, fill=pal.accent
        )
        d.text(
            (px0 + 16 * SS, py0 + 6 * SS),
            price,
            font=self.price_font,
            fill=(24, 24, 28),
            stroke_width=1,
            stroke_fill=(24, 24, 28),
        )

        return img.resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS)


# --- encoding ----------------------------------------------------------------


def encode(frames: list[bytes], target: Path, crf: int) -> int:
    """Encode raw RGB frames to an H.264 MP4 at `target`; return its size in bytes."""
    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(),
        "-y",
        "-hide_banner",
        "-loglevel",
        "error",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-s",
        f"{WIDTH}x{HEIGHT}",
        "-framerate",
        str(FPS),
        "-i",
        "-",
        "-an",
        "-c:v",
        "libx264",
        "-preset",
        "veryslow",
        "-tune",
        "animation",
        "-crf",
        str(crf),
        "-pix_fmt",
        "yuv420p",
        "-profile:v",
        "main",
        "-threads",
        "1",
        "-movflags",
        "+faststart",
        "-map_metadata",
        "-1",
        "-fflags",
        "+bitexact",
        "-flags:v",
        "+bitexact",
        str(target),
    ]
    subprocess.run(cmd, input=b"".join(frames), check=True)
    return target.stat().st_size


def read_catalog(path: Path) -> list[Product]:
    """Products of a catalog CSV in the project's own columns."""
    with path.open(newline="", encoding="utf-8") as f:
        return [
            Product(row["sku"], row["title"], row["price"], row["currency"], row["category"])
            for row in csv.DictReader(f)
        ]


def make_clip(product: Product, out_dir: Path, preview_dir: Path | None) -> int:
    """Render and encode one product's clip within MAX_BYTES; return its size."""
    renderer = ClipRenderer(product)
    images = [renderer.frame(i) for i in range(FRAMES)]
    if preview_dir is not None:
        images[FRAMES * 2 // 3].save(preview_dir / f"{product.sku}.png")
    frames = [im.tobytes() for im in images]
    target = out_dir / f"{product.sku}.mp4"
    tmp = target.with_suffix(".mp4.tmp.mp4")
    size = 0
    for crf in range(FIRST_CRF, LAST_CRF + 1, 2):
        size = encode(frames, tmp, crf)
        if size <= MAX_BYTES:
            break
    Path(tmp).replace(target)
    return size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--catalog", type=Path, default=DEFAULT_CATALOG, help="catalog CSV to read")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="folder for <sku>.mp4 and index.json"
    )
    parser.add_argument(
        "--only", nargs="*", default=None, metavar="SKU", help="render just these skus"
    )
    parser.add_argument(
        "--preview",
        type=Path,
        default=None,
        metavar="DIR",
        help="also save one PNG frame per clip here",
    )
    args = parser.parse_args(argv)

    products = read_catalog(args.catalog)
    if len({p.sku for p in products}) != len(products):
        parser.error("duplicate sku in catalog")
    args.out.mkdir(parents=True, exist_ok=True)
    if args.preview is not None:
        args.preview.mkdir(parents=True, exist_ok=True)

    total = 0
    for product in products:
        if args.only and product.sku not in args.only:
            continue
        size = make_clip(product, args.out, args.preview)
        total += size
        print(f"{product.sku}: {size / 1024:.1f} KB")

    # The index always describes the whole catalog, so a partial run keeps it right.
    index = {
        p.sku: {"duration": SECONDS, "width": WIDTH, "height": HEIGHT, "mime_type": "video/mp4"}
        for p in products
    }
    (args.out / "index.json").write_text(
        json.dumps(index, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    print(f"rendered {total / 1024:.1f} KB; index of {len(index)} clips in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
