"""Writing files so that a failure never destroys what was there before."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Callable
from typing import BinaryIO

#: The prefix and suffix of the temporary file beside the target.
TEMP_PREFIX, TEMP_SUFFIX = ".", ".skmtl-tmp"


def is_file_object(target) -> bool:
    """Whether ``target`` is an open file (it has ``write`` or ``read``), not a path."""
    return hasattr(target, "write") or hasattr(target, "read")


def write_atomically(target, write: Callable[[BinaryIO], None]) -> None:
    """Write a file through ``write(file)``, all of it or nothing.

    For a path, ``write`` fills a temporary file in the same folder, which
    is flushed and synced to disk and then moved over ``target`` in one
    step (``os.replace``). On any failure, a full disk, an interrupt
    (``KeyboardInterrupt``) or an error in ``write``, the temporary file is
    removed and a file already at ``target`` is left as it was. A new file
    keeps the mode of the file it replaces (or the umask's default).

    For an open binary file, ``write`` fills a buffer in memory first, so
    that the file receives the whole content in one write or nothing.
    """
    if is_file_object(target):
        buffer = io.BytesIO()  # seekable, as zipfile needs
        write(buffer)
        target.write(buffer.getvalue())
        return
    path = os.fspath(target)
    folder = os.path.dirname(os.path.abspath(path))
    name = os.path.basename(path)
    fd, temp = tempfile.mkstemp(dir=folder, prefix=TEMP_PREFIX + name + ".", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temp, _mode(path))
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _sync_folder(folder)


def _mode(path: str) -> int:
    """The permission bits for the new file: those of the file it replaces,
    else what the umask leaves of 0o666 (mkstemp makes 0o600)."""
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _sync_folder(folder: str) -> None:
    """Make the rename itself durable; not every system can open a folder."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
