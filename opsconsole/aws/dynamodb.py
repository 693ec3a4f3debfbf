"""DynamoDB: the business items of a saga, as plain Python values."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from .clients import AwsEnvironment, aws_call, client

_deserializer = TypeDeserializer()
_serializer = TypeSerializer()


@dataclass(frozen=True)
class Item:
    key: dict[str, Any]
    values: dict[str, Any] = field(default_factory=dict)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [_plain(v) for v in value]
    return value


def deserialize(raw: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB-typed item as plain values (numbers as int or float)."""
    return {k: _plain(_deserializer.deserialize(v)) for k, v in raw.items()}


def serialize(values: dict[str, Any]) -> dict[str, Any]:
    """Plain values as a DynamoDB-typed item (floats go through Decimal)."""
    return {
        k: _serializer.serialize(Decimal(str(v)) if isinstance(v, float) else v)
        for k, v in values.items()
    }


@aws_call("Query")
def query_partition(
    table: str, pk_name: str, pk_value: str, *, limit: int = 200, env: AwsEnvironment | None = None
) -> list[Item]:
    """All items under one partition key (a saga's business items), up to `limit`."""
    paginator = client("dynamodb", env).get_paginator("query")
    items: list[Item] = []
    for page in paginator.paginate(
        TableName=table,
        KeyConditionExpression="#pk = :pk",
        ExpressionAttributeNames={"#pk": pk_name},
        ExpressionAttributeValues={":pk": {"S": pk_value}},
    ):
        for raw in page.get("Items", []):
            values = deserialize(raw)
            key = {pk_name: values.get(pk_name)}
            items.append(Item(key=key, values=values))
            if len(items) >= limit:
                return items
    return items


@aws_call("GetItem")
def get_item(
    table: str, key: dict[str, Any], env: AwsEnvironment | None = None
) -> dict[str, Any] | None:
    """One item as plain values, or None."""
    raw = client("dynamodb", env).get_item(TableName=table, Key=serialize(key)).get("Item")
    return deserialize(raw) if raw else None


@aws_call("PutItem")
def put_item(table: str, values: dict[str, Any], env: AwsEnvironment | None = None) -> None:
    """Write one item (plain values)."""
    client("dynamodb", env).put_item(TableName=table, Item=serialize(values))


@aws_call("BatchGetItem")
def batch_get_items(
    table: str, keys: list[dict[str, Any]], env: AwsEnvironment | None = None
) -> list[dict[str, Any]]:
    """Many items by key, 100 keys a call (the API maximum), in no particular order."""
    found: list[dict[str, Any]] = []
    ddb = client("dynamodb", env)
    for start in range(0, len(keys), 100):
        request: dict[str, Any] = {
            table: {"Keys": [serialize(k) for k in keys[start : start + 100]]}
        }
        while request:
            response = ddb.batch_get_item(RequestItems=request)
            found.extend(deserialize(raw) for raw in response.get("Responses", {}).get(table, []))
            request = response.get("UnprocessedKeys") or {}
    return found
