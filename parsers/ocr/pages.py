"""Pages of a scan or photo as grey pixel arrays, one at a time: a PDF without a text
layer rendered at 300 dpi (pypdfium2), an image with its EXIF orientation applied
(Pillow); the page and pixel caps of `ReadLimits` are checked before any page is
decoded in full.

Memory: a page's colour pixels are turned grey a band of rows at a time as soon as
they are decoded (`to_gray.band`, per pixel, such as splitting off coloured ink, into
one-byte planes; then `to_gray.page` over the whole page's planes), and
the colour bitmap or image is freed before the grey page is handed on, so a worker holds
one grey page, never a colour copy of it. A photo far above 300 dpi is decoded at a
reduced size (JPEG draft mode) and brought down to `MAX_PHOTO_SIDE`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import io
from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np
import pypdfium2 as pdfium
from PIL import Image

from parsers.model import ReadLimits
from parsers.readers.common import GridError
from parsers.readers.pdf import pdf_page_count

RENDER_DPI = 300
# A photo's long side above this is more than an A4 page at 300 dpi (3508 px) can use:
# decoded at a reduced size and brought down to it.
MAX_PHOTO_SIDE = 4200
_BAND_ROWS = 256  # rows of colour turned grey at a time

RGB = np.ndarray[Any, np.dtype[np.uint8]]
Gray = np.ndarray[Any, np.dtype[np.uint8]]


class ToGray(Protocol):
    """How colour pixels become the grey page: per band of rows (`band`: one-byte
    planes of the band, each row for row), then over the whole page's planes (`page`)."""

    def band(self, rgb: RGB) -> tuple[Gray, ...]: ...

    def page(self, planes: tuple[Gray, ...]) -> Gray: ...


class _Planes:
    """The page's planes, filled a band of rows at a time."""

    def __init__(self, height: int, width: int) -> None:
        self.shape = (height, width)
        self.planes: list[Gray] = []

    def put(self, y: int, band: tuple[Gray, ...]) -> None:
        if not self.planes:
            self.planes = [np.empty(self.shape, dtype=np.uint8) for _ in band]
        for plane, part in zip(self.planes, band, strict=True):
            plane[y : y + part.shape[0]] = part

    def turn(self, turn: Image.Transpose) -> None:
        """Each plane turned or flipped as Pillow's `turn` (an EXIF orientation)."""
        self.planes = [np.array(Image.fromarray(p).transpose(turn), dtype=np.uint8) for p in self.planes]

    def finish(self, to_gray: ToGray) -> Gray:
        planes, self.planes = tuple(self.planes), []
        return to_gray.page(planes)


# Pillow's names for the EXIF orientations (ImageOps.exif_transpose), applied to the grey page
_EXIF_TURNS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_EXIF_ORIENTATION = 0x0112


def _image_page_count(data: bytes) -> int:
    with Image.open(io.BytesIO(data)) as img:
        return int(getattr(img, "n_frames", 1))


def iter_pages(data: bytes, fmt: str, limits: ReadLimits, filename: str, to_gray: ToGray) -> Iterator[Gray]:
    """The pages as grey arrays (`to_gray` of their RGB pixels), upright as the file
    says (EXIF), one at a time. Raises GridError(over_limit) past the page or megapixel cap."""
    if fmt == "pdf":
        pdf_page_count(data, limits, filename)  # the PDF reader's checks: damaged, empty, over max_pages
        yield from _pdf_pages(data, limits, filename, to_gray)
        return
    if _image_page_count(data) > limits.max_pages:
        raise GridError("over_limit", file=filename, limit="pages", detail=str(limits.max_pages))
    yield from _image_pages(data, limits, filename, to_gray)


def _check_pixels(width: float, height: float, limits: ReadLimits, filename: str) -> None:
    if width * height > limits.max_page_megapixels * 1_000_000:
        raise GridError("over_limit", file=filename, limit="megapixels", detail=str(limits.max_page_megapixels))


def _banded(rgb: RGB, to_gray: ToGray) -> Gray:
    """`to_gray` of `rgb`, its per-pixel step a band of rows at a time, so its full-page
    colour intermediates (HSV) never exist at once."""
    h, w = rgb.shape[:2]
    planes = _Planes(h, w)
    for y in range(0, h, _BAND_ROWS):
        planes.put(y, to_gray.band(np.ascontiguousarray(rgb[y : y + _BAND_ROWS, :, :3])))
    return planes.finish(to_gray)


def _pdf_pages(data: bytes, limits: ReadLimits, filename: str, to_gray: ToGray) -> Iterator[Gray]:
    pdf = pdfium.PdfDocument(data)
    try:
        for i in range(len(pdf)):
            page = pdf[i]
            try:
                w, h = page.get_size()  # points
                scale = RENDER_DPI / 72
                _check_pixels(w * scale, h * scale, limits, filename)
                bitmap = page.render(scale=scale, grayscale=False, rev_byteorder=True)  # RGB, no copy
                try:
                    gray = _banded(bitmap.to_numpy(), to_gray)
                finally:
                    bitmap.close()
            finally:
                page.close()
            release_memory()
            yield gray
            del gray
    finally:
        pdf.close()


def _image_pages(data: bytes, limits: ReadLimits, filename: str, to_gray: ToGray) -> Iterator[Gray]:
    with Image.open(io.BytesIO(data)) as img:
        for frame in range(int(getattr(img, "n_frames", 1))):
            img.seek(frame)
            _check_pixels(img.width, img.height, limits, filename)
            turn = _EXIF_TURNS.get(int(img.getexif().get(_EXIF_ORIENTATION, 1)))
            planes = _image_planes(img, to_gray)
            if turn is not None:  # upright before the whole page's step, as the page is seen
                planes.turn(turn)
            gray = planes.finish(to_gray)
            del planes
            release_memory()
            yield gray
            del gray


def _image_planes(img: Image.Image, to_gray: ToGray) -> _Planes:
    """One frame's pixels decoded (a big JPEG at a reduced size), their per-pixel planes
    made a band of rows at a time."""
    scale = MAX_PHOTO_SIDE / max(img.width, img.height)
    if scale < 1 and img.format in ("JPEG", "MPO"):
        img.draft("RGB", (int(img.width * scale), int(img.height * scale)))  # 1/2, 1/4, 1/8 while decoding
    source = img
    scale = MAX_PHOTO_SIDE / max(img.width, img.height)
    if scale < 1:
        size = (round(img.width * scale), round(img.height * scale))
        source = (img if img.mode == "RGB" else img.convert("RGB")).resize(size, Image.Resampling.LANCZOS)
    try:
        w, h = source.size
        planes = _Planes(h, w)
        for y in range(0, h, _BAND_ROWS):
            band = source.crop((0, y, w, min(h, y + _BAND_ROWS)))
            planes.put(y, to_gray.band(np.asarray(band if band.mode == "RGB" else band.convert("RGB"), dtype=np.uint8)))
        return planes
    finally:
        if source is not img:
            source.close()


_libc: Any = None
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
_MMAP_THRESHOLD = 256 * 1024


def _c_library() -> Any:
    """glibc through ctypes, or False where there is none (musl, macOS)."""
    global _libc
    if _libc is None:
        name = ctypes.util.find_library("c")
        try:
            lib = ctypes.CDLL(name) if name else None
            _libc = lib if lib is not None and hasattr(lib, "malloc_trim") and hasattr(lib, "mallopt") else False
        except OSError:
            _libc = False
    return _libc


def release_memory() -> None:
    """Give the C allocator's freed pages back to the system (glibc keeps a page's
    freed arrays in its pools otherwise); nothing where there is no glibc."""
    if lib := _c_library():
        lib.malloc_trim(0)


def tune_allocator() -> None:
    """For a process that recognises pages: every block over 256 KiB (a page's arrays)
    mapped on its own and returned to the system when freed. glibc otherwise raises
    that threshold to 32 MiB after the first big block is freed and serves the next
    pages' arrays from its pools, where they fragment (~13 MiB more peak on an A4
    page). Nothing where there is no glibc."""
    if lib := _c_library():
        lib.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
