"""Headers of file downloads (exports, printed letters)."""

from __future__ import annotations

import urllib.parse

PRIVATE = {"Cache-Control": "no-store, private"}  # personal data: never cached on the way


def attachment_disposition(file_name: str) -> str:
    """attachment with an ASCII fallback and the UTF-8 name (RFC 6266 / 5987)."""
    ascii_name = file_name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "")
    quoted = urllib.parse.quote(file_name, safe="")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quoted}"
