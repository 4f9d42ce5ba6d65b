"""The plugin greenws finds through the entry point: it declares the ``phoenix`` kit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from greenws.plugins import hookimpl


@hookimpl
def greenws_protocol_kits() -> Mapping[str, Any]:
    # Imported here, not at the top: answering the hook must not cost every run an import.
    from greenws_phoenix_kit import channels

    return {"phoenix": channels}
