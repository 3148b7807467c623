"""Files cnncalc writes (plots, charts): whole or not at all.

Stage: output edge. Every file is written to a temporary file beside its target and renamed
into place only once complete (os.replace is atomic on one filesystem), so a full disk, a
killed process or a failed render leaves any existing file untouched and no partial file
behind. A failure is an OutputError: one sentence naming the file, exit status 2.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import BinaryIO

from cnncalc.errors import CnncalcError, safe_text


class OutputError(CnncalcError):
    """An output file cannot be written (a folder in the way, no permission, a full disk)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(None, f"cannot write '{safe_text(path)}': {reason}")


def check_writable(path: str) -> None:
    """Refuse a target that cannot be a file before any work: a folder, a missing folder."""
    if os.path.isdir(path):
        raise OutputError(path, "it is a folder; name a file in it")
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        raise OutputError(path, f"the folder '{safe_text(folder)}' does not exist")


def write_atomic(path: str, write: Callable[[BinaryIO], None]) -> None:
    """Call write(file) on a temporary file beside `path`, then rename it to `path`."""
    check_writable(path)
    folder = os.path.dirname(path) or "."
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise OutputError(path, exc.strerror or str(exc)) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a plot is an ordinary file
        os.replace(tmp, path)
    except OSError as exc:
        _remove(tmp)
        raise OutputError(path, exc.strerror or str(exc)) from None
    except BaseException:
        _remove(tmp)
        raise


def _remove(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass
