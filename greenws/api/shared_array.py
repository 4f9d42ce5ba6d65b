"""``SharedArray``: k6's ``k6/data`` answer to big read-only data in a per-VU init context.

Each VU runs the script's init code itself (see :mod:`greenws.execution.script_module`), so a
list built at the top of the script would be built once per VU: 10,000 copies of a 10 MB user
list. ``SharedArray(name, loader)`` calls ``loader`` once per process; every later construction
with the same name, in any VU, returns that same object. It is read-only all the way down (dicts
become read-only mappings, lists tuples), so one VU cannot change what another reads, as k6's
frozen elements.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any, overload

__all__ = ["SharedArray"]

_LOADED: dict[str, SharedArray] = {}


def _frozen(value: Any) -> Any:
    """``value`` with every dict, list and set in it made read-only."""
    if isinstance(value, Mapping):
        return MappingProxyType({key: _frozen(item) for key, item in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(item) for item in value)
    if isinstance(value, (set, frozenset)):
        return frozenset(value)
    return value


class SharedArray(Sequence[Any]):
    """A read-only sequence loaded once per process and shared by every VU (k6's SharedArray)."""

    __slots__ = ("_items", "name")
    name: str
    _items: tuple[Any, ...]

    def __new__(cls, name: str, loader: Callable[[], Any] | None = None) -> SharedArray:
        existing = _LOADED.get(name)
        if existing is not None:
            return existing
        if not isinstance(name, str) or not name:
            raise TypeError("SharedArray: the name must be a non-empty string")
        if not callable(loader):
            raise TypeError(f"SharedArray {name!r}: give a function that returns the data")
        data = loader()
        if isinstance(data, (str, bytes, Mapping)) or not isinstance(data, (list, tuple)):
            raise TypeError(
                f"SharedArray {name!r}: the loader must return a list, not {type(data).__name__}"
            )
        shared = super().__new__(cls)
        shared.name = name
        shared._items = tuple(_frozen(item) for item in data)
        _LOADED[name] = shared
        return shared

    def __init__(self, name: str, loader: Callable[[], Any] | None = None) -> None:
        """Everything happens in ``__new__``: a second construction must not reload."""

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Any, ...]: ...

    def __getitem__(self, index: int | slice) -> Any:
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items)

    def __repr__(self) -> str:
        return f"<SharedArray {self.name!r} of {len(self._items)} items>"

    @property
    def length(self) -> int:
        """The number of items, as k6's ``.length``."""
        return len(self._items)
