from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.batch_input_simple_public_object_batch_input_upsert import (
    BatchInputSimplePublicObjectBatchInputUpsert,
)
from ...models.batch_response_simple_public_upsert_object import (
    BatchResponseSimplePublicUpsertObject,
)
from ...models.batch_response_simple_public_upsert_object_with_errors import (
    BatchResponseSimplePublicUpsertObjectWithErrors,
)
from ...models.error import Error
from ...types import Response, http_status


def _get_kwargs(
    *,
    body: BatchInputSimplePublicObjectBatchInputUpsert,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/crm/v3/objects/postal_mail/batch/upsert",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> BatchResponseSimplePublicUpsertObject | BatchResponseSimplePublicUpsertObjectWithErrors | Error | None:
    # A body that breaks its own schema (HTML from a proxy, an error without its "required"
    # fields) must not crash the call: the caller keeps the status code and the raw content,
    # in the Response, or in errors.UnparsableResponse when raise_on_unexpected_status is set.
    try:
        return _parse_known_response(client=client, response=response)
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        if client.raise_on_unexpected_status:
            raise errors.UnparsableResponse(response.status_code, response.content, error) from error
        return None


def _parse_known_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> BatchResponseSimplePublicUpsertObject | BatchResponseSimplePublicUpsertObjectWithErrors | Error | None:
    if response.status_code == 200:
        response_200 = BatchResponseSimplePublicUpsertObject.from_dict(response.json())

        return response_200

    if response.status_code == 207:
        response_207 = BatchResponseSimplePublicUpsertObjectWithErrors.from_dict(response.json())

        return response_207

    response_default = Error.from_dict(response.json())

    return response_default


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[BatchResponseSimplePublicUpsertObject | BatchResponseSimplePublicUpsertObjectWithErrors | Error]:
    # Parsed when first asked for: a caller that reads `content` itself skips the models. But
    # when the client raises on unexpected answers, parsed now, so that the call itself raises.
    def parse() -> (
        BatchResponseSimplePublicUpsertObject | BatchResponseSimplePublicUpsertObjectWithErrors | Error | None
    ):
        return _parse_response(client=client, response=response)

    return Response(
        status_code=http_status(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=parse() if client.raise_on_unexpected_status else None,
        parse=None if client.raise_on_unexpected_status else parse,
        extensions=response.extensions,
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: BatchInputSimplePublicObjectBatchInputUpsert,
) -> Response[BatchResponseSimplePublicUpsertObject | BatchResponseSimplePublicUpsertObjectWithErrors | Error]:
    """Create or update up to 100 postal-mail records, matched on a unique property

     Each input names its record by `id`, the value of the unique property given in `idProperty`. A
    record with no match is created, a match is updated. Results are not in input order.

    Args:
        body (BatchInputSimplePublicObjectBatchInputUpsert): The request body: the records to
            write.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[BatchResponseSimplePublicUpsertObject | BatchResponseSimplePublicUpsertObjectWithErrors | Error]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: BatchInputSimplePublicObjectBatchInputUpsert,
) -> BatchResponseSimplePublicUpsertObject | BatchResponseSimplePublicUpsertObjectWithErrors | Error | None:
    """Create or update up to 100 postal-mail records, matched on a unique property

     Each input names its record by `id`, the value of the unique property given in `idProperty`. A
    record with no match is created, a match is updated. Results are not in input order.

    Args:
        body (BatchInputSimplePublicObjectBatchInputUpsert): The request body: the records to
            write.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        BatchResponseSimplePublicUpsertObject | BatchResponseSimplePublicUpsertObjectWithErrors | Error
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: BatchInputSimplePublicObjectBatchInputUpsert,
) -> Response[BatchResponseSimplePublicUpsertObject | BatchResponseSimplePublicUpsertObjectWithErrors | Error]:
    """Create or update up to 100 postal-mail records, matched on a unique property

     Each input names its record by `id`, the value of the unique property given in `idProperty`. A
    record with no match is created, a match is updated. Results are not in input order.

    Args:
        body (BatchInputSimplePublicObjectBatchInputUpsert): The request body: the records to
            write.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[BatchResponseSimplePublicUpsertObject | BatchResponseSimplePublicUpsertObjectWithErrors | Error]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: BatchInputSimplePublicObjectBatchInputUpsert,
) -> BatchResponseSimplePublicUpsertObject | BatchResponseSimplePublicUpsertObjectWithErrors | Error | None:
    """Create or update up to 100 postal-mail records, matched on a unique property

     Each input names its record by `id`, the value of the unique property given in `idProperty`. A
    record with no match is created, a match is updated. Results are not in input order.

    Args:
        body (BatchInputSimplePublicObjectBatchInputUpsert): The request body: the records to
            write.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        BatchResponseSimplePublicUpsertObject | BatchResponseSimplePublicUpsertObjectWithErrors | Error
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
