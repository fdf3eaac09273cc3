"""Images in, text out: checks on an uploaded photo, and OCR with Tesseract.

Before anything is decoded, the size is computed from the base64 length (413 past the
limit); the bytes must then decode, start with the magic of the declared type and open as
an image (400 otherwise). Pillow turns the photo upright, grey and at most MAX_SIDE pixels
on its longer side (a 48-megapixel phone photo is slow to OCR and no more legible), in a
worker thread. Tesseract (`pol+eng`) runs as a process fed on stdin, so it never blocks
the event loop; a semaphore caps how many run at once (a burst of photos waits its turn
instead of starving the other routes) and each run has a timeout.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import shutil
import time
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps

from python_functions.ai.providers import CallRecord

MAX_SIDE = 3000
_MAGIC = {
    "image/png": lambda b: b.startswith(b"\x89PNG\r\n\x1a\n"),
    "image/jpeg": lambda b: b.startswith(b"\xff\xd8\xff"),
    "image/webp": lambda b: b[:4] == b"RIFF" and b[8:12] == b"WEBP",
}
_PILLOW_FORMAT = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}


class ImageRejected(Exception):
    """An upload that is not a usable image of its declared type, or too large."""

    def __init__(self, status: int, code: str, message: str, field: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field


class OcrUnavailable(Exception):
    """Tesseract (or its language data) is not installed here."""


class OcrFailed(Exception):
    def __init__(self, code: str, record: CallRecord) -> None:
        super().__init__(code)
        self.code = code
        self.record = record


def decoded_size(data_base64: str) -> int:
    """How many bytes `data_base64` decodes to, without decoding it."""
    length = len(data_base64) - data_base64.count("\n") - data_base64.count("\r")
    padding = 2 if data_base64.rstrip().endswith("==") else 1 if data_base64.rstrip().endswith(
        "=") else 0
    return length * 3 // 4 - padding


def decode_image(mime_type: str, data_base64: str, max_bytes: int) -> bytes:
    """The image's bytes, after the size, base64 and magic-byte checks."""
    size = decoded_size(data_base64)
    if size > max_bytes:
        raise ImageRejected(413, "PAYLOAD_TOO_LARGE",
                            f"The image is {size} bytes; at most {max_bytes} are accepted",
                            "image.data_base64")
    try:
        data = base64.b64decode("".join(data_base64.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ImageRejected(400, "VALIDATION_ERROR", "image.data_base64 is not valid base64",
                            "image.data_base64") from None
    if not data or not _MAGIC[mime_type](data):
        raise ImageRejected(400, "VALIDATION_ERROR",
                            f"The image bytes are not {mime_type}", "image.mime_type")
    return data


def prepare(mime_type: str, data: bytes, max_side: int = MAX_SIDE) -> bytes:
    """A grey, upright PNG of the photo, at most `max_side` pixels on its longer side."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data), formats=[_PILLOW_FORMAT[mime_type]])
            opened.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError,
            Image.DecompressionBombWarning):
        raise ImageRejected(400, "VALIDATION_ERROR", "The image could not be read",
                            "image.data_base64") from None
    image = ImageOps.exif_transpose(opened).convert("L")
    image.thumbnail((max_side, max_side))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@dataclass
class OcrEngine:
    languages: str = "pol+eng"
    timeout_s: float = 15.0
    max_concurrent: int = 2

    def __post_init__(self) -> None:
        self._slots = asyncio.Semaphore(self.max_concurrent)

    @property
    def model(self) -> str:
        return f"tesseract/{self.languages}"

    def available(self) -> bool:
        return shutil.which("tesseract") is not None

    async def prepare(self, mime_type: str, data: bytes) -> bytes:
        """`prepare` in a worker thread, within the same cap as OCR runs (it is CPU work
        too); ImageRejected for an image that does not open."""
        async with self._slots:
            return await asyncio.to_thread(prepare, mime_type, data)

    async def read(self, png: bytes, input_bytes: int) -> tuple[str, CallRecord]:
        """The text of a prepared image and the record of this OCR call (OcrFailed with
        the record when it fails, OcrUnavailable when there is no Tesseract)."""
        record = CallRecord(model=self.model, provider="tesseract", attempt=1, source="image",
                            input_bytes=input_bytes)
        binary = shutil.which("tesseract")
        if binary is None:
            raise OcrUnavailable("tesseract is not installed")
        async with self._slots:
            started = time.monotonic()
            try:
                process = await asyncio.create_subprocess_exec(
                    binary, "stdin", "stdout", "-l", self.languages, "--psm", "3",
                    stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE)
                try:
                    out, _ = await asyncio.wait_for(process.communicate(png), self.timeout_s)
                except TimeoutError:
                    process.kill()
                    await process.wait()
                    record.status, record.error_code = "timeout", "AI_TIMEOUT"
                    record.error_message = "OCR did not finish in time"
                    raise OcrFailed("AI_TIMEOUT", record) from None
            finally:
                record.latency_ms = int((time.monotonic() - started) * 1000)
        if process.returncode != 0:
            record.error_code = "OCR_FAILED"
            record.error_message = f"tesseract exited with {process.returncode}"
            raise OcrFailed("OCR_FAILED", record)
        record.status = "success"
        return out.decode("utf-8", errors="replace").strip(), record
