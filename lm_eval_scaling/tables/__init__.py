"""The tidy-table contract every stage reads and writes.

* :mod:`.schema` -- counts, ladder and gold tables: columns, validation, errors.
* :mod:`.ladder` -- ladder presets and the parameter count used as ``N``.
* :mod:`.checkpoints` -- checkpoint names ``MODEL`` / ``MODEL@REVISION``.
* :mod:`.files` -- CSV/TSV/Parquet reading and atomic writing.
"""

from __future__ import annotations

from .checkpoints import checkpoint_name, parse_checkpoint
from .files import read_table_file, write_table_file
from .ladder import load_ladder
from .schema import concat_tables, read_counts, read_gold, read_ladder

__all__ = ["checkpoint_name", "concat_tables", "load_ladder", "parse_checkpoint", "read_counts",
           "read_gold", "read_ladder", "read_table_file", "write_table_file"]
