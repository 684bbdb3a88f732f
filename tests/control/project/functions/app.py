def handler(event, context):
    # The event itself: tests read what the function URL passed on.
    return event
