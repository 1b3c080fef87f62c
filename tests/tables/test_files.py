"""The one writer: atomic, recorded in a manifest, serialised by a lock; checks before work."""

from __future__ import annotations

import errno
import multiprocessing
import os
from pathlib import Path

import pandas as pd
import pytest

from lm_eval_scaling.errors import InputError
from lm_eval_scaling.tables import files
from lm_eval_scaling.tables.files import (
    check_output_dir,
    check_output_file,
    read_table_file,
    sidecar_path,
    write_table_file,
    write_text,
    written_here,
)


def _writer(args: tuple[str, int]) -> str:
    directory, tag = args
    try:
        for i in range(5):
            df = pd.DataFrame({"run": [tag] * 200, "i": range(200)})
            for name in ("a.csv", "b.csv", "c.csv"):
                write_table_file(df, Path(directory) / name)
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        return f"{type(exc).__name__}: {exc}"
    return ""


def test_concurrent_writers_never_crash_or_leave_temp_files(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(4) as pool:
        errors = pool.map(_writer, [(str(tmp_path), tag) for tag in range(8)])
    assert errors == [""] * 8
    assert sorted(p.name for p in tmp_path.iterdir()) == [files.MANIFEST, "a.csv", "b.csv", "c.csv"]
    for name in ("a.csv", "b.csv", "c.csv"):
        df = read_table_file(tmp_path / name)
        assert len(df) == 200 and df["run"].nunique() == 1  # one run's table, never a mix
        assert written_here(tmp_path / name)


def test_failed_write_keeps_the_old_file_and_is_one_line(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "t.csv"
    write_table_file(pd.DataFrame({"x": [1]}), target)
    before = target.read_bytes()

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files.os, "replace", full)
    with pytest.raises(InputError, match="No space left on device") as info:
        write_table_file(pd.DataFrame({"x": [2]}), target)
    assert "\n" not in str(info.value)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [files.MANIFEST, "t.csv"]


def test_manifest_tells_own_files_from_foreign_ones(tmp_path: Path) -> None:
    out = tmp_path / "bt.csv"
    side = sidecar_path(out, "summary")
    assert side.name == "bt_summary.csv"
    side.write_text("mine\n")
    with pytest.raises(InputError, match="not written by lm-eval-scaling"):
        check_output_file(out, sidecars=[side])
    write_text(side, "ours\n")
    check_output_file(out, sidecars=[side])  # our own earlier output: fine
    side.write_text("edited by hand\n")
    with pytest.raises(InputError, match="changed"):
        check_output_file(out, sidecars=[side])


def test_output_checks(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("x\n1\n")
    with pytest.raises(InputError, match="is an input"):
        check_output_file(src, inputs=[str(src)])
    with pytest.raises(InputError, match="is an input"):
        check_output_file(tmp_path / "sub" / ".." / "in.csv", inputs=[src])
    (tmp_path / "f").write_text("x")
    with pytest.raises(InputError, match="not a directory"):
        check_output_file(tmp_path / "f" / "o.csv")
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(InputError, match="is a directory"):
        check_output_file(tmp_path / "d.csv")
    with pytest.raises(InputError, match="not a directory"):
        check_output_dir(tmp_path / "f", names=["counts.csv"])
    d = tmp_path / "tables"
    d.mkdir()
    (d / "counts.csv").write_text("someone else's\n")
    with pytest.raises(InputError, match="counts.csv"):
        check_output_dir(d, names=["counts.csv"])
    check_output_dir(d, names=["counts.csv"], force=True)
    assert list(tmp_path.glob("**/*.tmp")) == []
