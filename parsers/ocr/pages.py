"""Pages of a scan or photo as pixel arrays: a PDF without a text layer rendered at
300 dpi (pypdfium2), an image with its EXIF orientation applied (Pillow); the page and
pixel caps of `ReadLimits` are checked before any page is decoded in full.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import numpy as np
import pypdfium2 as pdfium
from PIL import Image, ImageOps

from parsers.model import ReadLimits
from parsers.readers.common import GridError
from parsers.readers.pdf import pdf_page_count

RENDER_DPI = 300

RGB = np.ndarray[Any, np.dtype[np.uint8]]


def _image_page_count(data: bytes) -> int:
    with Image.open(io.BytesIO(data)) as img:
        return int(getattr(img, "n_frames", 1))


def iter_pages(data: bytes, fmt: str, limits: ReadLimits, filename: str) -> Iterator[RGB]:
    """The pages as RGB arrays, upright as the file says (EXIF), one at a time.
    Raises GridError(over_limit) past the page or megapixel cap."""
    if fmt == "pdf":
        pdf_page_count(data, limits, filename)  # the PDF reader's checks: damaged, empty, over max_pages
        yield from _pdf_pages(data, limits, filename)
        return
    if _image_page_count(data) > limits.max_pages:
        raise GridError("over_limit", file=filename, limit="pages", detail=str(limits.max_pages))
    yield from _image_pages(data, limits, filename)


def _check_pixels(width: float, height: float, limits: ReadLimits, filename: str) -> None:
    if width * height > limits.max_page_megapixels * 1_000_000:
        raise GridError("over_limit", file=filename, limit="megapixels", detail=str(limits.max_page_megapixels))


def _pdf_pages(data: bytes, limits: ReadLimits, filename: str) -> Iterator[RGB]:
    pdf = pdfium.PdfDocument(data)
    try:
        for i in range(len(pdf)):
            page = pdf[i]
            w, h = page.get_size()  # points
            scale = RENDER_DPI / 72
            _check_pixels(w * scale, h * scale, limits, filename)
            bitmap = page.render(scale=scale, grayscale=False)
            img = bitmap.to_pil().convert("RGB")
            yield np.asarray(img, dtype=np.uint8)
    finally:
        pdf.close()


def _image_pages(data: bytes, limits: ReadLimits, filename: str) -> Iterator[RGB]:
    with Image.open(io.BytesIO(data)) as img:
        for frame in range(int(getattr(img, "n_frames", 1))):
            img.seek(frame)
            _check_pixels(img.width, img.height, limits, filename)
            upright = ImageOps.exif_transpose(img)
            yield np.asarray(upright.convert("RGB"), dtype=np.uint8)
