"""The request context: condition keys and their values, looked up case-insensitively."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

# A single-valued key holds a string; a multivalued key (aws:TagKeys, aws:PrincipalOrgPaths...)
# holds a tuple, even with one element, so operators can tell the two kinds apart.
ContextValue = str | tuple[str, ...]


def stringify(value: object) -> str:
    """Render a JSON scalar the way IAM compares it: booleans as ``true``/``false``."""
    if isinstance(value, bool):
        return "true" if value else "false"

    return str(value)


class RequestContext:
    """Condition keys of one request, normalised once so lookups are cheap.

    Key names are case-insensitive in IAM (``AWS:SourceIp`` is ``aws:sourceip``); that includes
    the tag key inside ``aws:PrincipalTag/Team``. An empty list counts as an absent key, which is
    how IAM treats a multivalued key with no values.
    """

    __slots__ = ("_values",)

    def __init__(self, context: Mapping[str, str | Sequence[str]]) -> None:
        values: dict[str, ContextValue] = {}
        for key, raw in context.items():
            if isinstance(raw, str):
                values[key.lower()] = raw
            elif isinstance(raw, Sequence):
                if raw:
                    values[key.lower()] = tuple(stringify(item) for item in raw)
            else:
                # Callers sometimes pass a bare bool or number; compare it as IAM would.
                values[key.lower()] = stringify(raw)

        self._values = values

    def get(self, key: str) -> ContextValue | None:
        """The value of ``key`` (any case), or None when the request does not carry it."""
        return self._values.get(key.lower())

    def single(self, key: str) -> str | None:
        """The value of a single-valued key; None if absent or multivalued.

        Policy variables can only be filled from single-valued keys.
        """
        value = self._values.get(key.lower())
        return value if isinstance(value, str) else None

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._values

    def __repr__(self) -> str:
        return f"RequestContext({self._values!r})"
