"""Policy variables: ``${key}``, ``${key, 'default'}`` and the escapes ``${*}``, ``${?}``, ``${$}``.

A policy string is split once into tokens; the tokens are filled in per request. Variables are
only recognised in policies with ``"Version": "2012-10-17"``; under ``2008-10-17`` or with no
Version the text ``${...}`` is literal, as in AWS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fnurl.iam.context import RequestContext

POLICY_VARIABLES_VERSION = "2012-10-17"

_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")

# AWS writes defaults as "${key, 'value'}"; whitespace around the comma is tolerated here.
_VARIABLE = re.compile(r"\s*([^\s,'{}$]+)\s*(?:,\s*'([^']*)'\s*)?")

_ESCAPES = frozenset("*?$")


@dataclass(frozen=True)
class Text:
    """Literal policy text; ``wildcards`` is False for escaped characters such as ``${*}``."""

    value: str
    wildcards: bool = True


@dataclass(frozen=True)
class Variable:
    """A ``${key}`` placeholder, resolved against the request context."""

    key: str
    default: str | None = None

    def resolve(self, context: RequestContext) -> str | None:
        """The key's value, else the default; None means the placeholder cannot be filled.

        Multivalued keys cannot fill a variable, so they count as absent.
        """
        value = context.single(self.key)
        return self.default if value is None else value


Token = Text | Variable


def tokenize(text: str, *, variables: bool) -> tuple[Token, ...]:
    """Split policy text into literal text and variables (when the Version allows them)."""
    if not variables or "${" not in text:
        return (Text(text),)

    tokens: list[Token] = []
    position = 0
    for placeholder in _PLACEHOLDER.finditer(text):
        if placeholder.start() > position:
            tokens.append(Text(text[position : placeholder.start()]))

        tokens.append(_placeholder_token(placeholder.group(0), placeholder.group(1)))
        position = placeholder.end()

    if position < len(text):
        tokens.append(Text(text[position:]))

    return _merge(tokens)


def has_variables(tokens: tuple[Token, ...]) -> bool:
    return any(isinstance(token, Variable) for token in tokens)


def render(tokens: tuple[Token, ...], context: RequestContext) -> str | None:
    """The text with every variable filled in, or None if one has no value and no default."""
    parts: list[str] = []
    for token in tokens:
        if isinstance(token, Text):
            parts.append(token.value)
            continue

        value = token.resolve(context)
        if value is None:
            return None

        parts.append(value)

    return "".join(parts)


def _placeholder_token(source: str, body: str) -> Token:
    if body in _ESCAPES:
        return Text(body, wildcards=False)

    variable = _VARIABLE.fullmatch(body)
    if variable is None:
        # Not a variable IAM would recognise ("${}", "${a b}"): keep the characters as written.
        return Text(source)

    return Variable(key=variable.group(1), default=variable.group(2))


def _merge(tokens: list[Token]) -> tuple[Token, ...]:
    """Join neighbouring texts of the same kind, so simple strings stay one token."""
    merged: list[Token] = []
    for token in tokens:
        previous = merged[-1] if merged else None
        if (
            isinstance(token, Text)
            and isinstance(previous, Text)
            and previous.wildcards == token.wildcards
        ):
            merged[-1] = Text(previous.value + token.value, token.wildcards)
        else:
            merged.append(token)

    return tuple(merged)
