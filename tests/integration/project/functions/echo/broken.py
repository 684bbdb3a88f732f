"""A module that fails while Lambda imports it (the init phase)."""

import not_a_module_anywhere  # noqa: F401


def handler(event, context):
    return "unreachable"
