"""Wildcard patterns (``*`` any run, ``?`` one character), compiled to regular expressions once.

A pattern that contains policy variables keeps its regular expression in pieces; the variables
are filled in per request, escaped, because a value taken from the request is always literal
(a ``*`` in a tag value is not a wildcard).
"""

from __future__ import annotations

import functools
import re

from fnurl.iam.context import RequestContext
from fnurl.iam.variables import Token, Variable

ANY_RUN = ".*"
ANY_CHAR = "."

Fragment = str | Variable


def glob_regex(text: str, *, any_run: str = ANY_RUN, any_char: str = ANY_CHAR) -> str:
    """Translate wildcard text into regex source; every other character is literal."""
    parts: list[str] = []
    for char in text:
        if char == "*":
            parts.append(any_run)
        elif char == "?":
            parts.append(any_char)
        else:
            parts.append(re.escape(char))

    return "".join(parts)


def string_fragments(tokens: tuple[Token, ...]) -> list[Fragment]:
    """Regex pieces for a ``StringLike`` value: wildcards may match any character."""
    fragments: list[Fragment] = []
    for token in tokens:
        if isinstance(token, Variable):
            fragments.append(token)
        elif token.wildcards:
            fragments.append(glob_regex(token.value))
        else:
            fragments.append(re.escape(token.value))

    return fragments


class Pattern:
    """A compiled wildcard pattern that matches whole strings."""

    __slots__ = ("_flags", "_fragments", "_static", "source")

    def __init__(self, fragments: list[Fragment], *, flags: int = 0, source: str = "") -> None:
        self.source = source
        self._flags = flags | re.DOTALL
        self._fragments = tuple(fragments)
        self._static: re.Pattern[str] | None = None
        if not any(isinstance(fragment, Variable) for fragment in fragments):
            self._static = _compile("".join(str(fragment) for fragment in fragments), self._flags)

    def matches(self, value: str, context: RequestContext) -> bool:
        """True if ``value`` matches; False also when a variable has no value (AWS rule)."""
        regex = self._static or self._fill(context)
        return regex is not None and regex.fullmatch(value) is not None

    def _fill(self, context: RequestContext) -> re.Pattern[str] | None:
        parts: list[str] = []
        for fragment in self._fragments:
            if isinstance(fragment, str):
                parts.append(fragment)
                continue

            value = fragment.resolve(context)
            if value is None:
                return None

            parts.append(re.escape(value))

        return _compile("".join(parts), self._flags)

    def __repr__(self) -> str:
        return f"Pattern({self.source!r})"


def string_pattern(tokens: tuple[Token, ...], *, source: str) -> Pattern:
    return Pattern(string_fragments(tokens), source=source)


@functools.lru_cache(maxsize=4096)
def _compile(source: str, flags: int) -> re.Pattern[str]:
    # Patterns with variables are rebuilt per request; the cache keeps that cheap for the
    # handful of distinct values (user names, tags) a deployment actually sees.
    return re.compile(source, flags)
