"""Walk a folder: every file to read, and one error record for each thing that cannot be.

Order is stable: in each folder its files by name, then its subfolders by name,
depth first; folders reached through a symlink come after the whole real tree.
Each real folder is read at most once:

* a symlink to a folder that contains the link (``sub/loop -> ..``) is a
  ``symlink loop`` error record;
* a symlink to a folder that is read anyway (it lies in the tree, or an earlier
  symlink led to it) is an error record naming where it was read, so no document
  is read twice;
* any other symlinked folder is followed, once.

A folder that cannot be listed (permissions, a broken or looping symlink) is an
error record too. Files are yielded as paths, whatever they are; reading decides what
is wrong with them (unsupported, empty, too large, not a regular file...).

Hidden entries, files and folders whose name starts with ``.``, are skipped without a
record. They are what the operating system, sync tools and version control leave in
analysts' folders (``.DS_Store``, ``._report.pdf`` AppleDouble copies that look like
PDFs, ``.git/``, ``.~lock.*#``): reporting each would bury the real errors and would
count them as unreadable documents, when no analyst meant them as input. A hidden
file named on the command line itself is read.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from pipeline.io.readers.base import Document, os_reason

_Key = tuple[int, int]  # (device, inode): a folder's identity, whatever path leads to it


def walk(root: Path) -> Iterator[Path | Document]:
    """Files under ``root`` to read, and error records for what cannot be walked."""
    try:
        info = os.stat(root)
    except OSError as err:
        yield _error(root, os_reason(err))
        return
    key = (info.st_dev, info.st_ino)
    seen: dict[_Key, Path] = {key: root}
    links: list[tuple[Path, tuple[_Key, ...]]] = []
    yield from _walk(root, (key,), seen, links)
    while links:  # followed after the real tree, so "already read" is known in full
        link, ancestors = links.pop(0)
        try:
            info = os.stat(link)
        except OSError as err:
            yield _error(link, os_reason(err))
            continue
        key = (info.st_dev, info.st_ino)
        if key in ancestors or _contains(link, link.parent):
            yield _error(link, f"symlink loop: it points to {os.readlink(link)}, "
                               "a folder that contains it")
        elif key in seen:
            yield _error(link, f"symlink to a folder already read as {seen[key]}")
        else:
            seen[key] = link
            yield from _walk(link, (*ancestors, key), seen, links)


def _walk(folder: Path, ancestors: tuple[_Key, ...], seen: dict[_Key, Path],
          links: list[tuple[Path, tuple[_Key, ...]]]) -> Iterator[Path | Document]:
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError as err:
        yield _error(folder, f"cannot read folder: {os_reason(err)}")
        return
    subfolders = []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        try:
            is_folder = entry.is_dir()  # follows symlinks
        except OSError:
            is_folder = False  # reading it will say what is wrong
        if not is_folder:
            yield Path(entry.path)
        elif entry.is_symlink():
            links.append((Path(entry.path), ancestors))
        else:
            subfolders.append(entry)
    for entry in subfolders:
        try:
            info = entry.stat()
        except OSError as err:
            yield _error(Path(entry.path), f"cannot read folder: {os_reason(err)}")
            continue
        key = (info.st_dev, info.st_ino)
        if key in seen:  # a bind mount, or a real folder met again inside a followed link
            yield _error(Path(entry.path), f"folder already read as {seen[key]}")
            continue
        seen[key] = Path(entry.path)
        yield from _walk(Path(entry.path), (*ancestors, key), seen, links)


def _contains(outer: Path, inner: Path) -> bool:
    """Whether folder ``outer`` (symlinks resolved) is ``inner`` or one of its parents."""
    return Path(os.path.realpath(inner)).is_relative_to(os.path.realpath(outer))


def _error(path: Path, message: str) -> Document:
    return Document(str(path), str(path), error=message)
