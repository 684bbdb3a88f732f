"""A module whose import never finishes (Lambda's init phase is limited to 10 s)."""

import time

time.sleep(3600)


def handler(event, context):
    return "unreachable"
