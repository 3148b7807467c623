"""Files cnncalc writes (plots, charts, drawings, imported specs): regular files, whole or not at all.

Stage: output edge. Every file is written to a temporary file beside its target and renamed
into place only once complete (os.replace is atomic on one filesystem), so a full disk, a
killed process or a failed render leaves any existing file untouched and no partial file
behind. A failure is an OutputError: one sentence naming the file, exit status 2.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from typing import BinaryIO

from cnncalc.errors import CnncalcError, safe_text


class OutputError(CnncalcError):
    """An output file cannot be written (a folder in the way, no permission, a full disk)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(None, f"cannot write '{safe_text(path)}': {reason}")


KINDS = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
         (stat.S_ISSOCK, "a socket"))


def target(path: str) -> str:
    """The file `path` names: a symbolic link is followed (the file it points to is replaced and
    the link stays, as a shell's `>` does), through any number of links."""
    return os.path.realpath(path) if os.path.islink(path) else path


def check_writable(path: str) -> None:
    """Refuse a target that cannot be a regular file before any work: a folder, a missing
    folder, a device, a named pipe or a socket (cnncalc writes regular files only: renaming a
    file over /dev/null as root would replace the device)."""
    real = target(path)
    try:
        mode = os.stat(real).st_mode
    except OSError:
        mode = None  # nothing there yet (or a link to nothing): a new file
    if mode is not None:
        if stat.S_ISDIR(mode):
            raise OutputError(path, "it is a folder; name a file in it")
        for test, kind in KINDS:
            if test(mode):
                raise OutputError(path, f"it is {kind}, not a regular file; name a file")
    folder = os.path.dirname(real) or "."
    if not os.path.isdir(folder):
        raise OutputError(path, f"the folder '{safe_text(folder)}' does not exist")


def write_atomic(path: str, write: Callable[[BinaryIO], None]) -> None:
    """Call write(file) on a temporary file beside `path` (beside the file a link points to),
    then rename it to that file; an existing file keeps its permissions."""
    check_writable(path)
    real = target(path)
    folder = os.path.dirname(real) or "."
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(real)}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise OutputError(path, exc.strerror or str(exc)) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        try:
            mode = stat.S_IMODE(os.stat(real).st_mode)  # an existing file keeps its mode
        except OSError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask  # mkstemp makes 0600; a plot is an ordinary file
        os.chmod(tmp, mode)
        os.replace(tmp, real)
    except OSError as exc:
        _remove(tmp)
        raise OutputError(path, exc.strerror or str(exc)) from None
    except BaseException:
        _remove(tmp)
        raise


def write_text(path: str, text: str) -> None:
    """A text file (UTF-8), whole or not at all (write_atomic)."""
    data = text.encode("utf-8")

    def write(fh: BinaryIO) -> None:
        fh.write(data)

    write_atomic(path, write)


def _remove(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass
