"""An app written with Powertools' LambdaFunctionUrlResolver, as people deploy them."""

import json

from aws_lambda_powertools.event_handler import (
    CORSConfig,
    LambdaFunctionUrlResolver,
    Response,
    content_types,
)
from aws_lambda_powertools.shared.cookies import Cookie
from aws_lambda_powertools.utilities.parser.models import LambdaFunctionUrlModel

app = LambdaFunctionUrlResolver(cors=CORSConfig(allow_origin="https://app.example",
                                                expose_headers=["x-handler"]))


@app.get("/orders/<order_id>")
def get_order(order_id: str):
    event = app.current_event
    return {
        "id": order_id,
        "limit": event.get_query_string_value("limit"),
        "cookies": event.cookies,
        "sourceIp": event.request_context.http.source_ip,
    }


@app.post("/orders")
def create_order():
    order = app.current_event.json_body
    return Response(
        status_code=201,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps({"created": order}),
        headers={"Location": "/orders/7"},
        cookies=[Cookie(name="session", value="abc", secure=False)],
    )


@app.get("/logo")
def logo():
    return Response(status_code=200, content_type="image/png", body=b"\x89PNG\r\n\x1a\n\x00")


def handler(event, context):
    # The event must be what Powertools' own model of a function URL event accepts.
    LambdaFunctionUrlModel.model_validate(event)
    return app.resolve(event, context)
