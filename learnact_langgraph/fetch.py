"""Download a dataset into the data directory, verifying every file's SHA-256.

Only the standard library speaks HTTP here (``urllib``), so fetching needs no extra
dependency. Each file is streamed into a temporary file next to its target and renamed
into place only once its hash matches the sum shipped with the package: an interrupted
or tampered download never leaves a file that :func:`learnact_langgraph.data.require`
would accept.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import secrets
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from learnact_langgraph.data import ENV_VAR, data_dir, get_dataset
from learnact_langgraph.errors import DataDirError

DEFAULT_TIMEOUT = 30.0
_CHUNK = 1 << 16


@dataclass
class FetchResult:
    """What a fetch did: files downloaded and files already present with the right hash."""

    root: Path
    downloaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_dataset(
    name: str,
    path: str | os.PathLike[str] | None = None,
    *,
    base_url: str | None = None,
    force: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    console: Console | None = None,
) -> FetchResult:
    """Download every file of dataset ``name`` that is absent or has the wrong hash.

    ``base_url`` replaces the dataset's upstream location (any URL urllib opens,
    ``file://`` included); ``force`` downloads even files that already verify.
    Progress goes to ``console`` when one is given. Raises :class:`DataDirError` with
    one sentence on the first network failure or checksum mismatch.

    An ``archive`` dataset (AlfWorld) is one upstream zip: ``base_url`` is then that
    zip's URL; it is downloaded once, and only the listed files are kept from it.
    """
    ds = get_dataset(name)
    root = data_dir(path) / ds.subdir
    base = (base_url or ds.source_url).rstrip("/")
    result = FetchResult(root)
    sums = ds.checksums()
    if ds.archive:
        return _fetch_from_archive(base, root, sums, force, timeout, result)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[file]}"),
        console=console,
        disable=console is None,
        transient=False,
    )
    with progress:
        bar = progress.add_task(f"Fetching {name}", total=len(sums), file="")
        for rel, expected in sums.items():
            progress.update(bar, file=rel)
            target = root / rel
            if not force and target.is_file() and sha256_file(target) == expected:
                result.skipped.append(rel)
            else:
                _download_verified(f"{base}/{quote(rel)}", target, rel, expected, timeout)
                result.downloaded.append(rel)
            progress.advance(bar)
        progress.update(bar, file="")
    return result


def _download_verified(url: str, target: Path, rel: str, expected: str, timeout: float) -> None:
    """Stream ``url`` to a temp file beside ``target``; rename it in only if the hash matches."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # os.open rather than mkstemp, so the file gets the usual umask-based mode, not 0600.
        tmp = target.parent / f".{target.name}.{secrets.token_hex(6)}.part"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise DataDirError(
            f"Cannot write to {target.parent} ({exc.strerror or exc}): choose a writable "
            f"directory with --data-dir or {ENV_VAR}."
        ) from None
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            for chunk in _stream(url, timeout):
                digest.update(chunk)
                try:
                    out.write(chunk)
                except OSError as exc:
                    raise DataDirError(
                        f"Cannot write {target} ({exc.strerror or exc}): free some space or "
                        f"choose another directory with --data-dir or {ENV_VAR}."
                    ) from None
        actual = digest.hexdigest()
        if actual != expected:
            raise DataDirError(
                f"{rel} downloaded from {url} has SHA-256 {actual} instead of the expected "
                f"{expected}, so it was not kept: make sure --base-url points at an unmodified "
                "copy of the upstream files and run the fetch again."
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _stream(url: str, timeout: float) -> Iterator[bytes]:
    """Yield the body of ``url`` in chunks, turning every network failure into one sentence."""
    hint = (
        f"check your connection, pass --base-url with another location of the files, "
        f"or set {ENV_VAR} to a directory that already has them."
    )
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            while chunk := resp.read(_CHUNK):
                yield chunk
    except urllib.error.HTTPError as exc:
        raise DataDirError(
            f"Could not download {url} (HTTP {exc.code} {exc.reason}): {hint}"
        ) from None
    except urllib.error.URLError as exc:
        raise DataDirError(f"Could not download {url} ({exc.reason}): {hint}") from None
    except (TimeoutError, ConnectionError, http.client.HTTPException) as exc:
        raise DataDirError(
            f"Could not download {url} ({exc or type(exc).__name__}): {hint}"
        ) from None
    except ValueError as exc:
        raise DataDirError(f"Could not download {url} ({exc}): {hint}") from None


def _fetch_from_archive(
    url: str,
    root: Path,
    sums: dict[str, str],
    force: bool,
    timeout: float,
    result: FetchResult,
) -> FetchResult:
    """Download the zip at ``url`` once and keep the listed files, each verified."""
    wanted: dict[str, str] = {}
    for rel, expected in sums.items():
        target = root / rel
        if not force and target.is_file() and sha256_file(target) == expected:
            result.skipped.append(rel)
        else:
            wanted[rel] = expected
    if not wanted:
        return result
    archive = root / ".download.zip"
    try:
        try:
            root.mkdir(parents=True, exist_ok=True)
            with archive.open("wb") as out:
                for chunk in _stream(url, timeout):
                    out.write(chunk)
        except OSError as exc:
            raise DataDirError(
                f"Cannot write to {root} ({exc.strerror or exc}): free some space or choose "
                f"another directory with --data-dir or {ENV_VAR}."
            ) from None
        _extract_verified(archive, url, root, wanted, result)
    finally:
        archive.unlink(missing_ok=True)  # also after a failed or partial download
    return result


def _extract_verified(
    archive: Path, url: str, root: Path, wanted: dict[str, str], result: FetchResult
) -> None:
    try:
        zipped = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataDirError(
            f"{url} is not a readable zip archive ({exc}): pass --base-url with the URL of "
            "the upstream release zip."
        ) from None
    with zipped:
        members = {}
        for info in zipped.infolist():
            for rel in wanted:
                if info.filename == rel or info.filename.endswith("/" + rel):
                    members[rel] = info
        missing = [rel for rel in wanted if rel not in members]
        if missing:
            raise DataDirError(
                f"The archive {url} lacks {len(missing)} of the needed files (e.g. "
                f"{missing[0]}): pass --base-url with the release zip that holds them."
            )
        for rel, expected in wanted.items():
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.parent / f".{target.name}.{secrets.token_hex(6)}.part"
            try:
                digest = hashlib.sha256()
                with zipped.open(members[rel]) as src, tmp.open("wb") as out:
                    while chunk := src.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                if digest.hexdigest() != expected:
                    raise DataDirError(
                        f"{rel} in {url} has SHA-256 {digest.hexdigest()} instead of the "
                        f"expected {expected}, so it was not kept: make sure --base-url points "
                        "at an unmodified upstream release."
                    )
                os.replace(tmp, target)
            finally:
                tmp.unlink(missing_ok=True)
            result.downloaded.append(rel)
