from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.batch_response_simple_public_upsert_object_status import (
    BatchResponseSimplePublicUpsertObjectStatus,
)
from ..types import UNSET, Unset

T = TypeVar("T", bound="BatchResponseSimplePublicUpsertObject")


@_attrs_define
class BatchResponseSimplePublicUpsertObject:
    """The answer when every input was written."""

    completed_at: datetime.datetime
    """ When processing finished. """
    results: list[SimplePublicUpsertObject]
    """ One entry per written record, in no particular order. """
    started_at: datetime.datetime
    """ When processing began. """
    status: BatchResponseSimplePublicUpsertObjectStatus
    """ Processing state; synchronous calls answer COMPLETE. """
    links: BatchResponseSimplePublicUpsertObjectLinks | Unset = UNSET
    """ Related links, by name. """
    requested_at: datetime.datetime | Unset = UNSET
    """ When the request was received. """
    errors: list[StandardError] | Unset = UNSET
    num_errors: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        completed_at = self.completed_at.isoformat()

        results = []
        for results_item_data in self.results:
            results_item = results_item_data.to_dict()
            results.append(results_item)

        started_at = self.started_at.isoformat()

        status = self.status.value

        links: dict[str, Any] | Unset = UNSET
        if not isinstance(self.links, Unset):
            links = self.links.to_dict()

        requested_at: str | Unset = UNSET
        if not isinstance(self.requested_at, Unset):
            requested_at = self.requested_at.isoformat()

        errors: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.errors, Unset):
            errors = []
            for errors_item_data in self.errors:
                errors_item = errors_item_data.to_dict()
                errors.append(errors_item)

        num_errors = self.num_errors

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "completedAt": completed_at,
                "results": results,
                "startedAt": started_at,
                "status": status,
            }
        )
        if links is not UNSET:
            field_dict["links"] = links
        if requested_at is not UNSET:
            field_dict["requestedAt"] = requested_at
        if errors is not UNSET:
            field_dict["errors"] = errors
        if num_errors is not UNSET:
            field_dict["numErrors"] = num_errors

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        completed_at = datetime.datetime.fromisoformat(d.pop("completedAt"))

        results = []
        _results = d.pop("results")
        for results_item_data in _results:
            results_item = SimplePublicUpsertObject.from_dict(results_item_data)

            results.append(results_item)

        started_at = datetime.datetime.fromisoformat(d.pop("startedAt"))

        status = BatchResponseSimplePublicUpsertObjectStatus(d.pop("status"))

        _links = d.pop("links", UNSET)
        links: BatchResponseSimplePublicUpsertObjectLinks | Unset
        if isinstance(_links, Unset):
            links = UNSET
        else:
            links = BatchResponseSimplePublicUpsertObjectLinks.from_dict(_links)

        _requested_at = d.pop("requestedAt", UNSET)
        requested_at: datetime.datetime | Unset
        if isinstance(_requested_at, Unset):
            requested_at = UNSET
        else:
            requested_at = datetime.datetime.fromisoformat(_requested_at)

        _errors = d.pop("errors", UNSET)
        errors: list[StandardError] | Unset = UNSET
        if _errors is not UNSET:
            errors = []
            for errors_item_data in _errors:
                errors_item = StandardError.from_dict(errors_item_data)

                errors.append(errors_item)

        num_errors = d.pop("numErrors", UNSET)

        batch_response_simple_public_upsert_object = cls(
            completed_at=completed_at,
            results=results,
            started_at=started_at,
            status=status,
            links=links,
            requested_at=requested_at,
            errors=errors,
            num_errors=num_errors,
        )

        batch_response_simple_public_upsert_object.additional_properties = d
        return batch_response_simple_public_upsert_object

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties


from ..models.batch_response_simple_public_upsert_object_links import (
    BatchResponseSimplePublicUpsertObjectLinks,
)
from ..models.simple_public_upsert_object import SimplePublicUpsertObject
from ..models.standard_error import StandardError
