"""CreateFunction, GetFunction, ListFunctions: functions made on the fly, then served."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError

from tests.servers import REPO, Server, start_server

PROJECT = REPO / "tests" / "control" / "project" / "fnurl.yaml"
ADMIN = ("AKIAADMINEXAMPLE0001", "admin-secret")
ROLE = "arn:aws:iam::111122223333:role/lambda-role"
HANDLER = b"import os\ndef handler(event, context):\n    return 'made ' + os.environ['WORD']\n"


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def lam(server: Server) -> Any:
    return boto3.client("lambda", region_name="us-east-1", endpoint_url=server.base,
                        aws_access_key_id=ADMIN[0], aws_secret_access_key=ADMIN[1])


def create(client: Any, name: str = "made", files: dict[str, bytes] | None = None) -> Any:
    return client.create_function(
        FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler",
        Code={"ZipFile": zipped(files or {"app.py": HANDLER})},
        Environment={"Variables": {"WORD": "on the fly"}}, Timeout=5)


def test_create_get_list_and_invoke(server: Server) -> None:
    client = lam(server)
    created = create(client)
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["FunctionArn"] == "arn:aws:lambda:us-east-1:111122223333:function:made"
    assert created["Handler"] == "app.handler" and created["Timeout"] == 5
    assert created["State"] == "Active" and created["CodeSize"] == len(HANDLER)

    got = client.get_function(FunctionName="made")
    assert got["Configuration"]["Environment"] == {"Variables": {"WORD": "on the fly"}}
    names = [f["FunctionName"] for f in client.list_functions()["Functions"]]
    assert "made" in names and "my-function" in names and "member-function" not in names

    url = client.create_function_url_config(FunctionName="made", AuthType="NONE")["FunctionUrl"]
    for sid, action, extra in (
        ("url", "lambda:InvokeFunctionUrl", {"FunctionUrlAuthType": "NONE"}),
        ("invoke", "lambda:InvokeFunction", {"InvokedViaFunctionUrl": True}),
    ):
        client.add_permission(FunctionName="made", StatementId=sid, Action=action,
                              Principal="*", **extra)
    host = url.split("//")[1].rstrip("/")
    response = httpx.get(f"{server.base}/", headers={"Host": host}, timeout=30)
    assert response.content == b"made on the fly"


def test_create_errors(server: Server) -> None:
    client = lam(server)
    create(client)

    def code_of(**kwargs: Any) -> str:
        with pytest.raises(ClientError) as caught:
            create(client, **kwargs)
        return str(caught.value.response["Error"]["Code"])

    assert code_of() == "ResourceConflictException"
    assert code_of(name="escape", files={"../outside.py": b"x"}) == (
        "InvalidParameterValueException")
    with pytest.raises(ClientError) as caught:
        client.create_function(FunctionName="bad", Runtime="python3.12", Role=ROLE,
                               Handler="app.handler", Code={"ZipFile": b"not a zip"})
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValueException"
    with pytest.raises(ClientError) as caught:
        client.get_function(FunctionName="nothing-here")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"

    elsewhere = "arn:aws:iam::444455556666:role/example"
    with pytest.raises(ClientError) as caught:
        client.create_function(FunctionName="stolen", Runtime="python3.12", Role=elsewhere,
                               Handler="app.handler", Code={"ZipFile": zipped({"app.py": HANDLER})})
    assert caught.value.response["Error"]["Message"] == (
        "The role defined for the function cannot be assumed by Lambda.")
    with pytest.raises(ClientError) as caught:
        client.update_function_configuration(FunctionName="made", Role=elsewhere)
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValueException"
    other_role = "arn:aws:iam::111122223333:role/other-role"
    client.update_function_configuration(FunctionName="made", Role=other_role)
    assert client.get_function_configuration(FunctionName="made")["Role"] == other_role

    for variables, error in (({"1ST": "x"}, "ValidationException"),
                             ({"A": "x"}, "ValidationException"),
                             ({"BIG": "x" * 4090}, "InvalidParameterValueException")):
        with pytest.raises(ClientError) as caught:
            client.update_function_configuration(FunctionName="made",
                                                 Environment={"Variables": variables})
        assert caught.value.response["Error"]["Code"] == error, variables
    with pytest.raises(ClientError) as caught:
        client.update_function_configuration(FunctionName="made",
                                             Environment={"Variables": {"BIG": "x" * 4090}})
    assert "exceeded the 4KB limit" in caught.value.response["Error"]["Message"]
    assert client.get_function(FunctionName="made")["Configuration"]["Environment"] == {
        "Variables": {"WORD": "on the fly"}}


def test_created_functions_survive_a_restart(tmp_path: Path, args: list[str]) -> None:
    first = start_server(tmp_path, args)
    try:
        create(lam(first))
    finally:
        first.stop()

    second = start_server(tmp_path, args)
    try:
        assert lam(second).get_function(FunctionName="made")["Configuration"]["Handler"] == (
            "app.handler")
    finally:
        second.stop()


def test_a_state_file_that_is_not_a_database_is_one_clear_error(tmp_path: Path,
                                                                 args: list[str]) -> None:
    import subprocess
    import sys

    state = tmp_path / "state"
    state.mkdir()
    (state / "fnurl.db").write_bytes(b"garbage, not SQLite" * 100)
    result = subprocess.run([sys.executable, "-m", "fnurl", "serve", "--port", "0", *args],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)

    assert result.returncode == 1
    assert f"cannot open the state file {state / 'fnurl.db'}: file is not a database" in (
        result.stderr)
    assert "Traceback" not in result.stderr
    assert (state / "fnurl.db").read_bytes() == b"garbage, not SQLite" * 100


def test_update_configuration_code_and_delete(server: Server) -> None:
    client = lam(server)
    create(client)
    url = client.create_function_url_config(FunctionName="made", AuthType="NONE")["FunctionUrl"]
    for sid, action, extra in (
        ("url", "lambda:InvokeFunctionUrl", {"FunctionUrlAuthType": "NONE"}),
        ("invoke", "lambda:InvokeFunction", {"InvokedViaFunctionUrl": True}),
    ):
        client.add_permission(FunctionName="made", StatementId=sid, Action=action,
                              Principal="*", **extra)
    host = url.split("//")[1].rstrip("/")

    def reply() -> httpx.Response:
        return httpx.get(f"{server.base}/", headers={"Host": host}, timeout=30)

    updated = client.update_function_configuration(
        FunctionName="made", Environment={"Variables": {"WORD": "reconfigured"}}, Timeout=7)
    assert updated["Timeout"] == 7
    assert reply().content == b"made reconfigured"

    new_code = b"def handler(event, context):\n    return 'new code'\n"
    client.update_function_code(FunctionName="made", ZipFile=zipped({"app.py": new_code}))
    assert reply().content == b"new code"
    assert client.get_function_configuration(FunctionName="made")["CodeSize"] == len(new_code)

    client.delete_function(FunctionName="made")
    with pytest.raises(ClientError) as caught:
        client.get_function(FunctionName="made")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert reply().content == b'{"Message":null}'


def test_file_declared_functions_are_changed_in_the_file(server: Server) -> None:
    with pytest.raises(ClientError) as caught:
        lam(server).update_function_configuration(FunctionName="my-function", Timeout=9)

    assert caught.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "project file" in caught.value.response["Error"]["Message"]


def test_a_second_server_on_the_same_state_is_refused(server: Server, tmp_path: Path,
                                                      args: list[str]) -> None:
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "fnurl", "serve", "--port", "0", *args],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)

    assert result.returncode == 1
    assert f"another fnurl serve is using the state in {tmp_path / 'state'}" in result.stderr
    assert lam(server).list_functions()["Functions"] is not None
