"""File names in any byte encoding: stored and shown as text, opened as bytes.

Why: a Linux file name is bytes. One that is not UTF-8 (a Latin-1 'café.jpg'
copied from an old camera) decodes to a str with lone surrogates, which no
UTF-8 table or page (Parquet, JSON, CSV, HTML) can hold. Every such byte is
kept as a ``\\xNN`` escape wherever a name is stored or shown, and turned back
into the byte when the file is opened.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

_ESCAPED_BYTE = re.compile(rb"\\x([0-9a-fA-F]{2})")


def _undecodable(text: str) -> bool:
    return any("\udc80" <= char <= "\udcff" for char in text)


def shown(name: str | Path) -> str:
    """``name`` as UTF-8 text: a byte that is not UTF-8 becomes ``\\xNN``."""
    text = str(name)
    if not _undecodable(text):
        return text
    return os.fsencode(text).decode("utf-8", "backslashreplace")


def real(name: str | Path) -> Path:
    """The file a ``shown`` name stands for."""
    path = Path(name)
    text = str(name)
    if "\\x" not in text or os.path.lexists(path):
        return path
    raw = _ESCAPED_BYTE.sub(
        lambda match: bytes([int(match.group(1), 16)]), text.encode("utf-8")
    )
    return Path(os.fsdecode(raw))
