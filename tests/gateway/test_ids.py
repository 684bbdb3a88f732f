"""Request and trace ids: the shapes Lambda and X-Ray use, and no repeats."""

from __future__ import annotations

import re
import uuid

from fnurl.gateway import ids


def test_request_ids_are_version_4_uuids_that_do_not_repeat() -> None:
    made = [ids.request_id() for _ in range(20_000)]

    assert len(set(made)) == len(made)
    for text in made[:2000]:
        parsed = uuid.UUID(text)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
        assert str(parsed) == text


def test_trace_ids_have_the_x_ray_shape() -> None:
    assert re.fullmatch(r"1-6553f100-[0-9a-f]{24}", ids.trace_root(1_700_000_000.5))
    assert re.fullmatch(
        r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0;Lineage=1:[0-9a-f]{8}:0",
        ids.invocation_trace(ids.trace_root(0)),
    )
    assert ids.trace_root(0) != ids.trace_root(0)


def test_a_callers_trace_root_is_continued_and_anything_else_ignored() -> None:
    root = "1-6553f100-0123456789abcdef01234567"

    assert ids.client_trace_root(f"Root={root}") == root
    self = "Self=1-6553f100-aaaaaaaaaaaaaaaaaaaaaaaa"
    assert ids.client_trace_root(f"{self};Root={root};x=1") == root
    assert ids.client_trace_root(f"Root={root} ; Sampled=1") == root
    assert ids.client_trace_root(f"Root={root}x") is None
    assert ids.client_trace_root("Root=1-xyz") is None
    assert ids.client_trace_root("Parent=abc") is None
    assert ids.client_trace_root(None) is None
