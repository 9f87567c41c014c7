"""Headers of responses that carry personal data: never stored on the way, and file downloads
(exports, printed letters) with their names."""

from __future__ import annotations

import urllib.parse

NO_STORE = {"Cache-Control": "no-store, private"}


def attachment_disposition(file_name: str) -> str:
    """attachment with an ASCII fallback and the UTF-8 name (RFC 6266 / 5987)."""
    ascii_name = file_name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "")
    quoted = urllib.parse.quote(file_name, safe="")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quoted}"
