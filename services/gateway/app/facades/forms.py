"""multipart/form-data bodies (OpenAI's image edits upload files), read with the standard
library's MIME parser: the gateway's images carry no form-parsing package, and the body is
already read whole and bounded by the caller."""
from __future__ import annotations

import base64
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP

from ..errors import ApiError


@dataclass(frozen=True)
class Part:
    name: str
    filename: str | None
    content_type: str
    data: bytes

    def text(self) -> str:
        try:
            return self.data.decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(400, "invalid_form", f"{self.name} is not UTF-8 text",
                           fields={self.name: ["not UTF-8 text"]}) from None


def parse_form(content_type: str, body: bytes) -> list[Part]:
    """The parts of a multipart/form-data body, in order; 400 `invalid_form` when it is not one."""
    if not content_type.lower().startswith("multipart/form-data") or "boundary=" not in content_type.lower():
        raise ApiError(415, "unsupported_media_type", "send multipart/form-data with a boundary")
    # The MIME parser wants the whole entity: our own header line, then the body as sent.
    header = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    try:
        message = BytesParser(policy=HTTP).parsebytes(header + body)
        if not message.is_multipart() or message.defects:
            raise ApiError(400, "invalid_form", "the multipart body could not be read")
        parts = []
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str) or not name:
                raise ApiError(400, "invalid_form", "every form part needs a name")
            payload = part.get_payload(decode=True)
            parts.append(Part(name, part.get_filename(), part.get_content_type(), payload if isinstance(payload, bytes) else b""))
        return parts
    except ApiError:
        raise
    except Exception as exc:  # noqa: BLE001 - the MIME parser is lenient, but odd headers can still raise
        raise ApiError(400, "invalid_form", "the multipart body could not be read") from exc


_SIGNATURES = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))


def image_data_url(data: bytes, field: str) -> str:
    """An uploaded picture as the native API's `data:image/...;base64,` URL, typed by its first
    bytes (PNG, JPEG, WebP: what the native API decodes); it checks the picture itself."""
    kind = next((mime for signature, mime in _SIGNATURES if data.startswith(signature)), None)
    if kind is None and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        kind = "image/webp"
    if kind is None:
        raise ApiError(400, "invalid_image", f"{field} must be a PNG, JPEG or WebP image", fields={field: ["not an image"]})
    return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"
