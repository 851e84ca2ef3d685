"""Files the sandbox holds: uploads, their ids, and what Telegram would report about them.

Bytes live in memory. An upload gets a ``file_id`` (what a bot sends back to reuse the
file) and a ``file_unique_id`` (stable across bots and time); both are derived from the
content and the file's kind, so uploading the same clip twice yields the same ids. Images
and MP4 files are sniffed for width, height and duration the way Telegram's servers
would fill in ``PhotoSize`` and ``Video``.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import mimetypes
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from reelcart.sandbox.errors import BotApiError

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # getFile refuses bigger files
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_URL_PHOTO_BYTES = 5 * 1024 * 1024
MAX_USER_UPLOAD_BYTES = 2 * 1024 * 1024 * 1024  # what a Telegram app lets users send

# Real file_ids start with a type-specific prefix; imitating it keeps logs familiar.
_ID_PREFIX = {
    "photo": "AgACAgIAAxkBAAI",
    "video": "BAACAgIAAxkBAAI",
    "document": "BQACAgIAAxkBAAI",
    "animation": "CgACAgIAAxkBAAI",
    "thumbnail": "AAMCAgADGQEAAI",
}
_FOLDER = {
    "photo": "photos",
    "video": "videos",
    "document": "documents",
    "animation": "animations",
    "thumbnail": "thumbnails",
}


@dataclass
class Upload:
    """A file part of a multipart request, before it becomes a :class:`FileRecord`."""

    name: str
    filename: str
    content_type: str
    data: bytes


@dataclass
class FileRecord:
    """One stored file and the metadata Telegram reports for it."""

    file_id: str
    file_unique_id: str
    kind: str
    data: bytes = field(repr=False)
    file_name: str | None
    mime_type: str | None
    file_path: str
    width: int = 0
    height: int = 0
    duration: int = 0
    thumbnail: FileRecord | None = None

    @property
    def file_size(self) -> int:
        """Size in bytes."""
        return len(self.data)

    def photo_size(self) -> dict[str, Any]:
        """``PhotoSize`` JSON for an image file."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
            "width": self.width,
            "height": self.height,
        }

    def to_api(self, kind: str | None = None) -> Any:
        """The media object of a message (``Video``, ``Document``, a ``PhotoSize`` list...)."""
        kind = kind or self.kind
        if kind == "photo":
            return [self.photo_size()]
        media: dict[str, Any] = {"file_id": self.file_id, "file_unique_id": self.file_unique_id}
        if kind in ("video", "animation"):
            media.update(width=self.width, height=self.height, duration=self.duration)
        if self.thumbnail is not None:
            media["thumbnail"] = self.thumbnail.photo_size()
        if self.file_name:
            media["file_name"] = self.file_name
        if self.mime_type:
            media["mime_type"] = self.mime_type
        media["file_size"] = self.file_size
        return media

    def to_file(self) -> dict[str, Any]:
        """``File`` JSON as returned by getFile."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
            "file_path": self.file_path,
        }


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, GIF, JPEG or WebP image, or ``None`` if not an image."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        chunk = data[12:16]
        if chunk == b"VP8X":
            width = int.from_bytes(data[24:27], "little") + 1
            height = int.from_bytes(data[27:30], "little") + 1
            return width, height
        if chunk == b"VP8L":
            bits = int.from_bytes(data[21:25], "little")
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        if chunk == b"VP8 ":
            width, height = struct.unpack("<HH", data[26:30])
            return int(width) & 0x3FFF, int(height) & 0x3FFF
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos = 2
    while pos + 9 < len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        # SOF0..SOF15 carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) do not.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return int(width), int(height)
        pos += 2 + length
    return None


def _boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """ISO BMFF boxes in ``data[start:end]`` as (type, payload start, box end)."""
    boxes = []
    pos = start
    while pos + 8 <= end:
        size = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        header = 8
        if size == 1 and pos + 16 <= end:
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            break
        boxes.append((kind, pos + header, pos + size))
        pos += size
    return boxes


def mp4_info(data: bytes) -> tuple[int, int, int] | None:
    """(width, height, duration in seconds) of an MP4/MOV file, or ``None``."""
    if data[4:8] != b"ftyp":
        return None
    width = height = duration = 0
    for kind, start, end in _boxes(data, 0, len(data)):
        if kind != b"moov":
            continue
        for sub, s_start, s_end in _boxes(data, start, end):
            if sub == b"mvhd":
                if data[s_start] == 1:
                    timescale = int.from_bytes(data[s_start + 20 : s_start + 24], "big")
                    length = int.from_bytes(data[s_start + 24 : s_start + 32], "big")
                else:
                    timescale = int.from_bytes(data[s_start + 12 : s_start + 16], "big")
                    length = int.from_bytes(data[s_start + 16 : s_start + 20], "big")
                if timescale:
                    duration = round(length / timescale)
            elif sub == b"trak" and not width:
                for box, b_start, b_end in _boxes(data, s_start, s_end):
                    if box == b"tkhd" and b_end - b_start >= 8:
                        # width and height are the last 8 bytes, 16.16 fixed point
                        width = int.from_bytes(data[b_end - 8 : b_end - 6], "big")
                        height = int.from_bytes(data[b_end - 4 : b_end - 2], "big")
    return width, height, duration


def _is_webm(data: bytes) -> bool:
    return data[:4] == b"\x1a\x45\xdf\xa3"


def guess_mime(filename: str | None, data: bytes) -> str:
    """MIME type from the name, falling back to the content."""
    if filename:
        guessed, _ = mimetypes.guess_type(filename)
        if guessed:
            return guessed
    if data[4:8] == b"ftyp":
        return "video/mp4"
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data[:3] == b"GIF":
        return "image/gif"
    return "application/octet-stream"


def is_loopback_url(url: str) -> bool:
    """True for http(s) URLs on 127.0.0.0/8, ::1 or ``localhost``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


Fetcher = Callable[[str, int], Awaitable[tuple[bytes, str | None, str | None]]]


class FileStore:
    """All files of the sandbox, by ``file_id`` and by ``file_path``."""

    def __init__(self, salt: str) -> None:
        self._salt = salt
        self._by_id: dict[str, FileRecord] = {}
        self._by_path: dict[str, FileRecord] = {}
        self._by_content: dict[tuple[str, str], FileRecord] = {}
        # Every upload the bot made, duplicates included: lets tests check file_id reuse.
        self.uploads = 0

    def get(self, file_id: str) -> FileRecord | None:
        """The file with this ``file_id``, if any."""
        return self._by_id.get(file_id)

    def by_path(self, file_path: str) -> FileRecord | None:
        """The file served at ``/file/bot<token>/<file_path>``, if any."""
        return self._by_path.get(file_path)

    def add(
        self,
        kind: str,
        data: bytes,
        file_name: str | None,
        mime_type: str | None = None,
        *,
        width: int = 0,
        height: int = 0,
        duration: int = 0,
    ) -> FileRecord:
        """Store ``data`` as a file of ``kind``; identical content reuses the record."""
        self.uploads += 1
        digest = hashlib.sha256(data).hexdigest()
        existing = self._by_content.get((kind, digest))
        if existing is not None:
            return existing
        token = hashlib.sha256(f"{self._salt}:{kind}:{digest}".encode()).digest()
        file_id = _ID_PREFIX[kind] + base64.urlsafe_b64encode(token).decode().rstrip("=")
        unique = "AgAD" + base64.urlsafe_b64encode(token[:9]).decode()
        extension = ""
        if file_name and "." in file_name:
            extension = "." + file_name.rsplit(".", 1)[1][:8]
        elif mime_type:
            extension = mimetypes.guess_extension(mime_type) or ""
        path = f"{_FOLDER[kind]}/file_{len(self._by_id)}{extension}"
        record = FileRecord(
            file_id, unique, kind, data, file_name, mime_type, path, width, height, duration
        )
        self._by_id[file_id] = record
        self._by_path[path] = record
        self._by_content[(kind, digest)] = record
        return record

    def add_media(
        self,
        kind: str,
        data: bytes,
        filename: str | None,
        content_type: str | None = None,
        *,
        width: int | None = None,
        height: int | None = None,
        duration: int | None = None,
        max_bytes: int = MAX_UPLOAD_BYTES,
    ) -> FileRecord:
        """Store new content as ``kind``, filling in what Telegram would detect.

        A "video" or "animation" that is not a recognisable video becomes a document, as
        Telegram does; a "photo" that is not an image is refused. ``max_bytes`` is the
        bots' 50 MB upload limit by default (users may send far bigger files).
        """
        if len(data) > max_bytes:
            raise BotApiError(413, "Request Entity Too Large")
        if kind == "photo":
            size = image_size(data)
            if size is None:
                raise BotApiError.bad_request("IMAGE_PROCESS_FAILED")
            if len(data) > MAX_PHOTO_BYTES:
                raise BotApiError.bad_request("PHOTO_SAVE_FILE_INVALID")
            if size[0] + size[1] > 10000 or max(size) > 20 * max(1, min(size)):
                raise BotApiError.bad_request("PHOTO_INVALID_DIMENSIONS")
            return self.add("photo", data, None, "image/jpeg", width=size[0], height=size[1])
        if kind == "thumbnail":
            size = image_size(data) or (0, 0)
            return self.add("thumbnail", data, None, "image/jpeg", width=size[0], height=size[1])
        mime = (
            guess_mime(filename, data)
            if not content_type or content_type in ("application/octet-stream", "")
            else content_type
        )
        if kind in ("video", "animation"):
            info = mp4_info(data)
            is_gif = data[:3] == b"GIF"
            if info is None and not _is_webm(data) and not (kind == "animation" and is_gif):
                kind = "document"
            else:
                probed = info or (image_size(data) or (0, 0)) + (0,)
                return self.add(
                    kind,
                    data,
                    filename,
                    mime,
                    width=width if width is not None else probed[0],
                    height=height if height is not None else probed[1],
                    duration=duration if duration is not None else probed[2],
                )
        return self.add("document", data, filename, mime)

    async def resolve(self, value: Any, kind: str, fetch: Fetcher) -> FileRecord:
        """Turn an InputFile parameter (upload, file_id or URL) into a stored file.

        Raises the errors Telegram gives for unknown ids, a file of another type, and
        URLs it cannot fetch (the sandbox fetches loopback URLs only).
        """
        if isinstance(value, Upload):
            return self.add_media(kind, value.data, value.filename, value.content_type)
        if not isinstance(value, str) or not value:
            raise BotApiError.bad_request("wrong file identifier/HTTP URL specified")
        if value.startswith(("http://", "https://")):
            if not is_loopback_url(value):
                raise BotApiError.bad_request("failed to get HTTP URL content")
            limit = MAX_URL_PHOTO_BYTES if kind == "photo" else MAX_DOWNLOAD_BYTES
            data, content_type, name = await fetch(value, limit)
            if kind == "photo" and image_size(data) is None:
                raise BotApiError.bad_request("wrong type of the web page content")
            return self.add_media(kind, data, name, content_type)
        record = self._by_id.get(value)
        if record is None:
            raise BotApiError.bad_request("wrong file identifier/HTTP URL specified")
        if record.kind != kind:
            raise BotApiError.bad_request("type of file mismatch")
        return record
