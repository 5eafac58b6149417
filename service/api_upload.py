"""Reading request bodies from untrusted callers, with the size limit enforced as bytes arrive.

A declared Content-Length over the limit is refused before a single body byte is read; a body
without one (chunked) is counted while it streams and refused the moment it passes the limit,
so no caller can make the service buffer more than `limit` bytes.
"""
from __future__ import annotations

from collections.abc import AsyncGenerator

from fastapi import HTTPException, Request
from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

PDF_TYPES = ("application/pdf", "application/octet-stream")
FILE_FIELD = "file"


class Upload:
    """What a caller sent: the bytes and, for a multipart upload, the file name it gave."""

    def __init__(self, data: bytes, filename: str | None) -> None:
        self.data = data
        self.filename = filename


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def read_limited_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise HTTPException(400, "invalid Content-Length header") from None
        if size > limit:
            raise HTTPException(413, f"the upload is larger than {_mib(limit)}")
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise HTTPException(413, f"the upload is larger than {_mib(limit)}")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_pdf_upload(request: Request, limit: int) -> Upload:
    """The PDF of a `/verify` request: multipart field `file`, or the raw body (application/pdf)."""
    kind = media_type(request)
    if kind not in (*PDF_TYPES, "multipart/form-data"):
        raise HTTPException(415, "send the PDF as multipart/form-data (field `file`) or as application/pdf")
    body = await read_limited_body(request, limit)
    if kind != "multipart/form-data":
        return Upload(body, None)
    return await _multipart_file(request.headers, body, limit)


async def _multipart_file(headers: Headers, body: bytes, limit: int) -> Upload:
    async def stream() -> AsyncGenerator[bytes, None]:
        yield body

    # The body is already bounded; the parser's own limits only stop field floods.
    parser = MultiPartParser(headers, stream(), max_files=1, max_fields=16, max_part_size=64 << 10)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise HTTPException(400, f"malformed multipart body: {exc.message}") from None
    except Exception:  # python-multipart raises its own types on garbage; any of them is a 400
        raise HTTPException(400, "malformed multipart body") from None
    try:
        item = form.get(FILE_FIELD)
        if not isinstance(item, UploadFile):
            raise HTTPException(422, "the multipart body has no file in field `file`")
        data = await item.read(limit + 1)
        return Upload(data, item.filename)
    finally:
        await form.close()


def _mib(limit: int) -> str:
    return f"{limit / (1 << 20):g} MiB" if limit >= 1 << 20 else f"{limit} bytes"
