"""Pages of a scan or photo as grey pixel arrays, one at a time: a PDF without a text
layer rendered at 300 dpi (pypdfium2), an image with its EXIF orientation applied
(Pillow); the page and pixel caps of `ReadLimits` are checked before any page is
decoded in full.

Memory: a page's colour pixels are turned grey a band of rows at a time as soon as
they are decoded (`to_gray.band`, per pixel, such as splitting off coloured ink, into
one-byte planes; then `to_gray.page` over the whole page's planes), and the colour
image is freed before (a PDF page is even rendered a band of rows at a time, and
closed before `to_gray.page`), so a worker holds one grey page, never a colour copy of
it. A photo far above 300 dpi is decoded at a reduced size (JPEG draft mode) and
brought down to `MAX_PHOTO_SIDE`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import io
import math
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import cv2
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
_BAND_ROWS = 64  # rows of colour turned grey at a time (a band's intermediates ~15 MiB at 256 rows of 4,000 px)
# A PDF page is rendered in this many bands of rows: PDFium decodes the page's image
# again for each (~0.1 s), but the bitmap and its stretched copy are a band's
_RENDER_BANDS = 4
_RENDER_MARGIN = 16  # rows rendered on either side of a band and dropped

RGB = np.ndarray[Any, np.dtype[np.uint8]]
Gray = np.ndarray[Any, np.dtype[np.uint8]]


class ToGray(Protocol):
    """How colour pixels become the grey page: per band of rows (`band`: one-byte
    planes of the band, each row for row), then over the whole page's planes (`page`).

    The last plane is a mask (0 or 1 a pixel), and the planes between the first and the
    mask are used only within `reach` pixels (across and down) of a pixel of the mask:
    they are kept only there (memory), and 0 elsewhere."""

    reach: int

    def band(self, rgb: RGB) -> tuple[Gray, ...]: ...

    def page(self, planes: list[Gray]) -> Gray:
        """The grey page from the whole page's planes; `planes` is emptied (each plane
        may be freed as soon as it is used)."""
        ...


class _Band:
    """The planes after the first of one band of rows, compactly: the mask one bit a
    pixel (None: no pixel of it in the band), the planes between at the pixels within
    `reach` of it inside the band (their flat indices in the band, and values), and
    whole in the band's `reach` rows at either end (the next band's mask may reach
    them)."""

    __slots__ = ("y", "rows", "mask", "at", "values", "head", "tail")

    def __init__(self, y: int, rest: tuple[Gray, ...], reach: int) -> None:
        mask, between = rest[-1], rest[:-1]
        n = mask.shape[0]
        self.y, self.rows = y, n
        self.mask = np.packbits(mask, axis=1) if mask.any() else None
        if self.mask is not None and between:
            side = 2 * reach + 1
            near = np.asarray(cv2.dilate(mask, np.ones((side, side), dtype=np.uint8)), dtype=np.uint8)
            near[:reach] = 0  # (the end rows are kept whole)
            near[n - reach :] = 0
            self.at = np.flatnonzero(near).astype(np.int32)
        else:
            self.at = np.zeros(0, dtype=np.int32)
        self.values = tuple(np.ascontiguousarray(p).reshape(-1)[self.at] for p in between)
        self.head = tuple(np.array(p[:reach]) for p in between)
        self.tail = tuple(np.array(p[n - reach :] if reach else p[n:]) for p in between)

    def into(self, mask: Gray, between: list[Gray]) -> None:
        """Written into the whole page's planes (rows left 0 where nothing is kept)."""
        y, n = self.y, self.rows
        if self.mask is not None:
            mask[y : y + n] = np.unpackbits(self.mask, axis=1, count=mask.shape[1])
        for plane, values, head, tail in zip(between, self.values, self.head, self.tail, strict=True):
            rows = plane[y : y + n]
            rows.reshape(-1)[self.at] = values
            rows[: head.shape[0]] = head
            rows[n - tail.shape[0] :] = tail


class _Planes:
    """The page's planes, filled a band of rows at a time: the first whole, the others
    by band (`_Band`), kept only where `ToGray` says they may be used."""

    def __init__(self, height: int, width: int) -> None:
        self.shape = (height, width)
        self.first: Gray | None = None
        self.bands: list[_Band] = []
        self.count = 0
        self.turned: list[Gray] = []  # the other planes, whole, once turned

    def put(self, y: int, band: tuple[Gray, ...], reach: int) -> None:
        if self.first is None:
            self.first = np.empty(self.shape, dtype=np.uint8)
            self.count = len(band)
        self.first[y : y + band[0].shape[0]] = band[0]
        if len(band) > 1:
            self.bands.append(_Band(y, band[1:], reach))

    def _whole(self) -> list[Gray]:
        """The planes as whole arrays (0 where nothing was kept)."""
        assert self.first is not None
        if self.turned:
            planes, self.turned, self.first = [self.first, *self.turned], [], None
            return planes
        # (zeroed pages the bands do not write are never touched: not resident)
        planes = [self.first] + [np.zeros(self.shape, dtype=np.uint8) for _ in range(self.count - 1)]
        for band in self.bands:
            band.into(planes[-1], planes[1:-1])
        self.first, self.bands = None, []
        return planes

    def turn(self, turn: Image.Transpose) -> None:
        """Each plane turned or flipped as Pillow's `turn` (an EXIF orientation), one
        after the other (each old plane freed as its turned copy is made)."""
        planes = self._whole()
        for i, plane in enumerate(planes):
            planes[i] = np.ascontiguousarray(_TRANSPOSED[turn](plane))
            del plane
        self.first, self.turned = planes[0], planes[1:]

    def finish(self, to_gray: ToGray) -> Gray:
        return to_gray.page(self._whole())


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
# Pillow's transpositions as views of an array (the pixels as Image.transpose gives them)
_TRANSPOSED: dict[Image.Transpose, Callable[[Gray], Gray]] = {
    Image.Transpose.FLIP_LEFT_RIGHT: lambda a: a[:, ::-1],
    Image.Transpose.ROTATE_180: lambda a: a[::-1, ::-1],
    Image.Transpose.FLIP_TOP_BOTTOM: lambda a: a[::-1],
    Image.Transpose.TRANSPOSE: lambda a: a.T,
    Image.Transpose.ROTATE_270: lambda a: np.rot90(a, -1),
    Image.Transpose.TRANSVERSE: lambda a: a[::-1, ::-1].T,
    Image.Transpose.ROTATE_90: lambda a: np.rot90(a, 1),
}


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
    try:
        if _image_page_count(data) > limits.max_pages:
            raise GridError("over_limit", file=filename, limit="pages", detail=str(limits.max_pages))
        yield from _image_pages(data, limits, filename, to_gray)
    except Image.DecompressionBombError as exc:  # Pillow refuses to open it: far past the cap
        raise GridError(
            "over_limit", file=filename, limit="megapixels", detail=str(limits.max_page_megapixels)
        ) from exc


def _check_pixels(width: float, height: float, limits: ReadLimits, filename: str) -> None:
    if width * height > limits.max_page_megapixels * 1_000_000:
        raise GridError("over_limit", file=filename, limit="megapixels", detail=str(limits.max_page_megapixels))


def _pdf_pages(data: bytes, limits: ReadLimits, filename: str, to_gray: ToGray) -> Iterator[Gray]:
    pdf = pdfium.PdfDocument(data)
    count = len(pdf)
    pdf.close()
    for i in range(count):
        planes = _rendered_planes(data, i, limits, filename, to_gray)
        release_memory()
        yield planes.finish(to_gray)  # (no reference kept here while the page is read)
        del planes


def _rendered_planes(data: bytes, index: int, limits: ReadLimits, filename: str, to_gray: ToGray) -> _Planes:
    """Page `index` rendered at RENDER_DPI into its planes, a band of rows at a time:
    the pixels of the whole page's render, without its bitmap (3 bytes a pixel) nor
    PDFium's decoded and stretched copies of a scanned image at once with it. The
    document is opened again for each band (PDFium keeps what it decoded of the page's
    image until the document is closed) and the band rendered with `_RENDER_MARGIN` rows
    more on either side, those dropped: a stretched image's rows at a band's edge are
    then exactly the whole render's."""
    scale = RENDER_DPI / 72
    pdf = pdfium.PdfDocument(data)
    try:
        page = pdf[index]
        w, h = page.get_size()  # points
        _check_pixels(w * scale, h * scale, limits, filename)
        # the size of the whole page's bitmap, as PdfPage.render makes it
        width, height = math.ceil(page.get_width() * scale), math.ceil(page.get_height() * scale)
        page.close()
    finally:
        pdf.close()
    planes = _Planes(height, width)
    rows = -(-height // _RENDER_BANDS)
    for y0 in range(0, height, rows):
        y1 = min(height, y0 + rows)
        a0, a1 = max(0, y0 - _RENDER_MARGIN), min(height, y1 + _RENDER_MARGIN)
        crop = (0.0, _canvas_units(height - a1, scale), 0.0, _canvas_units(a0, scale))
        pdf = pdfium.PdfDocument(data)
        try:
            page = pdf[index]
            bitmap = page.render(scale=scale, grayscale=False, rev_byteorder=True, crop=crop)  # RGB, no copy
            try:
                rgb = bitmap.to_numpy()
                if rgb.shape[:2] != (a1 - a0, width):  # (never seen: PdfPage.render sizes as above)
                    raise RuntimeError(f"PDFium rendered {rgb.shape[:2]} pixels for a band of {(a1 - a0, width)}")
                for y in range(y0, y1, _BAND_ROWS):
                    band = rgb[y - a0 : min(y1, y + _BAND_ROWS) - a0, :, :3]
                    planes.put(y, to_gray.band(np.ascontiguousarray(band)), to_gray.reach)
            finally:
                bitmap.close()
                page.close()
        finally:
            pdf.close()
        release_memory()
    return planes


def _canvas_units(pixels: int, scale: float) -> float:
    """A crop for PdfPage.render that cuts exactly `pixels` rows (it rounds up)."""
    return (pixels - 0.5) / scale if pixels > 0 else 0.0


def _image_pages(data: bytes, limits: ReadLimits, filename: str, to_gray: ToGray) -> Iterator[Gray]:
    for frame in range(_image_page_count(data)):
        # the image opened for each frame and closed (its decoded pixels freed) once its
        # planes are made, before they are turned and the whole page's step is done.
        # Leaving `with` closes only the file: the decoded pixels (4 bytes a pixel, 46 MiB
        # for 12 megapixels) stay with the image object until it is closed or dropped, and
        # this generator's frame would hold it while the page is read.
        img = Image.open(io.BytesIO(data))
        try:
            img.seek(frame)
            _check_pixels(img.width, img.height, limits, filename)
            turn = _EXIF_TURNS.get(int(img.getexif().get(_EXIF_ORIENTATION, 1)))
            planes = _image_planes(img, to_gray)
        finally:
            img.close()
        del img
        release_memory()
        if turn is not None:  # upright before the whole page's step, as the page is seen
            planes.turn(turn)
        yield planes.finish(to_gray)  # (no reference kept here while the page is read)
        del planes
        release_memory()


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
            rgb = np.asarray(band if band.mode == "RGB" else band.convert("RGB"), dtype=np.uint8)
            planes.put(y, to_gray.band(rgb), to_gray.reach)
            del band, rgb
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


def use_one_thread() -> None:
    """For a process that recognises pages beside other workers: OpenCV's operations run
    on the calling thread. With its default pool (a thread a core) the samples' two
    scans cost 2.3 s of CPU instead of 1.65 for 1.5 s of wall time instead of 1.7, and
    in a poll the other core is a reader's."""
    cv2.setNumThreads(1)
