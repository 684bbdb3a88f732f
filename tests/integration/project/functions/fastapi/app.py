"""A FastAPI app behind Mangum, the usual way to run ASGI apps on Lambda."""

from aws_lambda_powertools.utilities.parser.models import LambdaFunctionUrlModel
from fastapi import FastAPI, Request
from fastapi.responses import Response
from mangum import Mangum

api = FastAPI()


@api.get("/items/{item_id}")
def read_item(item_id: int, q: str | None = None):
    return {"item_id": item_id, "q": q}


@api.post("/items", status_code=201)
async def create_item(request: Request):
    return {"received": await request.json(), "type": request.headers["content-type"]}


@api.get("/cookies")
def cookies(response: Response):
    response.set_cookie("a", "1")
    response.set_cookie("b", "2")
    return {"set": 2}


@api.get("/binary")
def binary():
    return Response(content=b"\x00\x01\x02\xff", media_type="application/octet-stream")


asgi = Mangum(api, lifespan="off")


def handler(event, context):
    LambdaFunctionUrlModel.model_validate(event)
    return asgi(event, context)
