"""The demo's one handler: says hello and shows what the function URL told it."""

import json
import os


def handler(event, context):
    if "requestContext" not in event:
        # Called with `aws lambda invoke`, not through a URL: the event is the payload.
        return {"message": f"{os.environ.get('GREETING', 'Hello')} from "
                           f"{context.function_name}", "event": event}
    iam = event["requestContext"].get("authorizer", {}).get("iam")
    reply = {
        "message": f"{os.environ.get('GREETING', 'Hello')} from {context.function_name}",
        "caller": iam["userArn"] if iam else "anonymous",
        "method": event["requestContext"]["http"]["method"],
        "path": event["rawPath"],
        "query": event.get("queryStringParameters", {}),
        "requestId": context.aws_request_id,
    }
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(reply),
    }
