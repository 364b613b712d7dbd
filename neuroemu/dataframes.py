"""Tables of plain rows as pandas DataFrames, for notebooks; pandas stays optional.

neuroemu does not depend on pandas: objects offer ``to_dataframe()`` by way of
:func:`to_dataframe`, which imports pandas only when called and says how to get it otherwise.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

from neuroemu.errors import NeuroEmuError


def to_dataframe(rows: Sequence[dict[str, Any]], index: str | None = "name") -> Any:
    """A pandas DataFrame of ``rows`` (one dict per row), indexed by the column ``index``.

    Raises
    ------
    NeuroEmuError
        pandas is not installed.
    """
    try:  # by name: pandas is optional and ships no type information
        pandas = importlib.import_module("pandas")
    except ImportError as error:
        raise NeuroEmuError(
            "to_dataframe needs pandas, which is not installed: pip install pandas "
            "(or use the plain data, to_dict() or summary(), which need nothing)"
        ) from error
    frame = pandas.DataFrame(list(rows))
    if index is not None and index in frame.columns:
        frame = frame.set_index(index)
    return frame
