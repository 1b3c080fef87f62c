"""Reading and writing tabular files (CSV or Parquet), and the one writer every command uses.

Writing (:func:`write_bytes`, :func:`write_text`, :func:`write_table_file`):

* atomic: the data goes to a temporary file with a unique name in the destination's
  directory, is flushed and fsynced, then renamed over the destination; an interrupted
  write leaves the old file (or none), never a half-written one;
* recorded: the directory's manifest (:data:`MANIFEST`, a small JSON file) maps each
  file this package wrote there to its SHA-256, so a later run can tell its own earlier
  output (replaceable) from a foreign file of the same name (refused unless ``force``);
* serialised: writers into one directory take an exclusive lock on it
  (:func:`output_lock`), so two runs never interleave their files;
* OS errors (read-only file system, disk full, a parent that is a file) become
  :class:`~lm_eval_scaling.errors.InputError` naming the path.

Checking (:func:`check_output_file`, :func:`check_output_dir`) happens before any
computation: the destination is writable (probed with a real temporary file), is not one
of the command's inputs, and no file the command would replace is foreign.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Final

import pandas as pd

from ..errors import InputError

__all__ = [
    "MANIFEST",
    "check_output_dir",
    "check_output_file",
    "os_error_message",
    "output_lock",
    "read_table_file",
    "record_files",
    "sidecar_path",
    "table_format",
    "write_bytes",
    "write_table_file",
    "write_text",
    "written_here",
]

_CSV = (".csv", ".csv.gz", ".tsv")
_PARQUET = (".parquet", ".pq")
#: Per-directory record of the files this package wrote there (name -> SHA-256).
MANIFEST: Final = ".lm-eval-scaling-files.json"

_held: dict[str, int] = {}  # directory -> lock depth held by this process
_held_guard = threading.Lock()


def table_format(path: str | os.PathLike[str]) -> str:
    """``"csv"``, ``"tsv"`` or ``"parquet"`` from the file name; InputError otherwise."""
    name = str(path).lower()
    if name.endswith(".tsv"):
        return "tsv"
    if name.endswith(_CSV):
        return "csv"
    if name.endswith(_PARQUET):
        return "parquet"
    raise InputError(
        f"{path}: unknown table format; expected a file ending in .csv, .csv.gz, .tsv, "
        ".parquet or .pq"
    )


def read_table_file(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a CSV/TSV/Parquet file into a DataFrame, with clear errors."""
    p = Path(path)
    fmt = table_format(p)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if p.is_dir():
        raise InputError(f"{p}: is a directory, expected a table file")
    try:
        if fmt == "parquet":
            return pd.read_parquet(p)
        return pd.read_csv(p, sep="\t" if fmt == "tsv" else ",", keep_default_na=True)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputError(f"{p}: cannot read as {fmt}: {exc}") from exc


# --------------------------------------------------------------------------- writing


def os_error_message(path: str | os.PathLike[str], exc: OSError, action: str = "cannot write") -> str:
    """One line for an OSError on ``path``: ``PATH: cannot write (No space left on device)``."""
    reason = exc.strerror or exc.__class__.__name__
    where = exc.filename if exc.filename and str(exc.filename) != str(path) else None
    return f"{path}: {action} ({reason}{f': {where}' if where else ''})"


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and record it in the directory's manifest."""
    p = Path(path)
    with _atomic(p) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
    return p


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """:func:`write_bytes` of ``text`` encoded as UTF-8."""
    return write_bytes(path, text.encode("utf-8"))


def write_table_file(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``df`` as CSV/TSV/Parquet by extension, atomically (see the module docstring)."""
    p = Path(path)
    fmt = table_format(p)
    with _atomic(p) as tmp:
        if fmt == "parquet":
            df.to_parquet(tmp, index=False)
        else:
            compression = "gzip" if p.name.lower().endswith(".gz") else None
            df.to_csv(tmp, index=False, sep="\t" if fmt == "tsv" else ",", compression=compression)
    return p


@contextlib.contextmanager
def _atomic(path: Path) -> Iterator[Path]:
    """A unique temporary path beside ``path``; on success fsync, rename, record."""
    if path.is_dir():
        raise InputError(f"{path}: is a directory; expected a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(os_error_message(path, exc)) from exc
    with output_lock(path.parent):
        tmp_name = None
        try:
            fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            os.close(fd)
            yield Path(tmp_name)
            digest = _sha256(Path(tmp_name))
            with open(tmp_name, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp_name, path)
            tmp_name = None
            _fsync_dir(path.parent)
            _record(path.parent, {path.name: digest})
        except OSError as exc:
            raise InputError(os_error_message(path, exc)) from exc
        finally:
            if tmp_name is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp_name)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _read_manifest(directory: Path) -> dict[str, str]:
    try:
        data = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        return {}
    return {str(k): str(v) for k, v in data["files"].items()}


def _record(directory: Path, entries: dict[str, str]) -> None:
    files = _read_manifest(directory)
    files.update(entries)
    files = {name: digest for name, digest in files.items() if (directory / name).is_file()}
    text = json.dumps({"generator": "lm-eval-scaling", "files": dict(sorted(files.items()))},
                      indent=1) + "\n"
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f"{MANIFEST}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, directory / MANIFEST)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def record_files(directory: str | os.PathLike[str], names: Iterable[str]) -> None:
    """Record files put into ``directory`` by this package in another way than the writers
    above (moved in from a staging directory) in its manifest."""
    d = Path(directory)
    with output_lock(d):
        _record(d, {name: _sha256(d / name) for name in names if (d / name).is_file()})


def written_here(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a file this package wrote and nobody changed since."""
    p = Path(path)
    digest = _read_manifest(p.parent).get(p.name)
    if digest is None or not p.is_file():
        return False
    try:
        return _sha256(p) == digest
    except OSError:
        return False


@contextlib.contextmanager
def output_lock(directory: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive lock on ``directory`` (blocking; re-entrant within a process).

    Every writer of this module takes it, so two runs writing into one directory
    take turns instead of interleaving temporary files and tables.
    """
    d = Path(directory)
    key = str(d.resolve())
    with _held_guard:
        depth = _held.get(key, 0)
        _held[key] = depth + 1
    fd = -1
    try:
        if depth == 0:
            try:
                fd = os.open(d, os.O_RDONLY)
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError as exc:
                raise InputError(os_error_message(d, exc, "cannot lock")) from exc
        yield
    finally:
        if fd >= 0:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        with _held_guard:
            _held[key] -= 1
            if not _held[key]:
                del _held[key]


# --------------------------------------------------------------------------- checking


def sidecar_path(path: str | os.PathLike[str], name: str) -> Path:
    """``bt.csv`` + ``summary`` -> ``bt_summary.csv`` (the extension kept, ``.csv`` if none)."""
    p = Path(path)
    suffix = "".join(p.suffixes) or ".csv"
    stem = p.name[: len(p.name) - len("".join(p.suffixes))] if p.suffixes else p.name
    return p.with_name(f"{stem}_{name}{suffix}")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def _probe_directory(directory: Path, what: Path) -> None:
    """Create ``directory`` if needed and write (then remove) a temporary file in it."""
    for parent in [directory, *directory.parents]:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(f"{what}: cannot write ({parent} is not a directory)")
            break
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".lm-eval-scaling-probe.", suffix=".tmp")
        try:
            os.write(fd, b"probe")
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(tmp)
    except OSError as exc:
        raise InputError(os_error_message(what, exc)) from exc


def _input_paths(inputs: Iterable[object]) -> list[Path]:
    out = []
    for item in inputs:
        if isinstance(item, (str, os.PathLike)):
            out.append(Path(item))
    return out


def check_output_file(
    path: str | os.PathLike[str],
    *,
    inputs: Iterable[object] = (),
    sidecars: Iterable[str | os.PathLike[str]] = (),
    table: bool = True,
    force: bool = False,
) -> Path:
    """Refuse an unusable output file before any work: a directory, an unknown table
    format (``table=True``), one of ``inputs`` (a file, or a file under an input
    directory), an unwritable place; and a sidecar that exists but was not written by
    this package (unless ``force``).  Creates missing parent directories."""
    p = Path(path)
    if table:
        table_format(p)
    if p.is_dir():
        raise InputError(f"{p}: is a directory; -o takes a file name")
    side = [Path(s) for s in sidecars]
    for out in [p, *side]:
        for source in _input_paths(inputs):
            if _same_file(out, source) or (source.is_dir() and _is_under(out, source)):
                raise InputError(f"{out}: is an input of this command; refusing to overwrite "
                                 "it (choose another -o)")
    _probe_directory(p.parent, p)
    if not force:
        for s in side:
            if s.exists() and not written_here(s):
                raise InputError(
                    f"{s}: exists and was not written by lm-eval-scaling (or was changed "
                    f"since); -o {p.name} would replace it: move it or choose another -o")
    return p


def check_output_dir(
    directory: str | os.PathLike[str],
    *,
    names: Sequence[str],
    inputs: Iterable[object] = (),
    force: bool = False,
) -> Path:
    """Refuse an unusable output directory before any work: a file, an input (or inside
    one), unwritable, or holding a file among ``names`` that this package did not write
    (unless ``force``).  Creates the directory."""
    d = Path(directory)
    if d.exists() and not d.is_dir():
        raise InputError(f"{d}: exists and is not a directory; -o takes a directory")
    targets = [d / n for n in names]
    for source in _input_paths(inputs):
        if _same_file(d, source) or any(_same_file(t, source) for t in targets):
            raise InputError(f"{d}: would overwrite the input {source}; choose another -o")
    _probe_directory(d, d)
    if not force:
        foreign = [n for n in names if (d / n).exists() and not written_here(d / n)]
        if foreign:
            raise InputError(
                f"{d}: holds {', '.join(foreign)} not written by lm-eval-scaling (or changed "
                "since); choose another directory or pass --force to replace them")
    return d


def _is_under(path: Path, directory: Path) -> bool:
    try:
        path.resolve().relative_to(directory.resolve())
    except (ValueError, OSError):
        return False
    return True

