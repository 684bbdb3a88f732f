"""Amazon Resource Names: parsing, and the segment-aware patterns of Resource and ``Arn*``.

An ARN has six colon-separated parts, ``arn:partition:service:region:account:resource``; the
resource part keeps any further colons (``function:my-function:prod``). In a pattern, ``*`` and
``?`` inside the first five parts stay inside their part, while in the resource part ``*`` also
spans ``:`` and ``/``. That is what makes ``function:f`` match only the unqualified function,
``function:f:*`` only qualified ARNs, and ``function:f*`` both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fnurl.iam.patterns import ANY_CHAR, ANY_RUN, Fragment, Pattern
from fnurl.iam.variables import Text, Token, Variable

ARN_PARTS = 6
_RESOURCE_PART = ARN_PARTS - 1

_SEGMENT_RUN = "[^:]*"
_SEGMENT_CHAR = "[^:]"


@dataclass(frozen=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str

    @classmethod
    def parse(cls, text: str) -> Arn | None:
        """The parts of ``text``, or None when it is not an ARN."""
        parts = text.split(":", _RESOURCE_PART)
        if len(parts) != ARN_PARTS or parts[0] != "arn":
            return None

        _, partition, service, region, account, resource = parts
        return cls(partition, service, region, account, resource)

    def __str__(self) -> str:
        return ":".join(
            ("arn", self.partition, self.service, self.region, self.account, self.resource)
        )


def arn_pattern(
    tokens: tuple[Token, ...], *, source: str, allow_short: bool = True
) -> Pattern | None:
    """Compile an ARN pattern, or return None when it does not have the shape of an ARN.

    With ``allow_short`` (Resource elements), a pattern with fewer than six parts is accepted
    if it ends in ``*``, which then spans the missing parts: AWS documents that a ``*`` ending
    a segment can expand past colons, and ``arn:aws:lambda:*`` is how people write "every
    Lambda resource". ``Arn*`` condition operators compare six parts and have no such rule.
    """
    fragments: list[Fragment] = []
    segment = 0
    for token in tokens:
        if isinstance(token, Variable):
            fragments.append(token)
        elif not token.wildcards:
            fragments.append(re.escape(token.value))
        else:
            for char in token.value:
                in_resource = segment >= _RESOURCE_PART
                if char == ":" and not in_resource:
                    segment += 1
                    fragments.append(":")
                elif char == "*":
                    fragments.append(ANY_RUN if in_resource else _SEGMENT_RUN)
                elif char == "?":
                    fragments.append(ANY_CHAR if in_resource else _SEGMENT_CHAR)
                else:
                    fragments.append(re.escape(char))

    if segment < _RESOURCE_PART:
        if not (allow_short and _ends_with_star(tokens)):
            return None

        fragments[-1] = ANY_RUN

    return Pattern(fragments, source=source)


def service_segment(text: str) -> str | None:
    """The service part of an ARN pattern as written (None if it has no such part)."""
    parts = text.split(":", 3)
    return parts[2] if len(parts) > 2 else None


def _ends_with_star(tokens: tuple[Token, ...]) -> bool:
    last = tokens[-1] if tokens else None
    return isinstance(last, Text) and last.wildcards and last.value.endswith("*")
