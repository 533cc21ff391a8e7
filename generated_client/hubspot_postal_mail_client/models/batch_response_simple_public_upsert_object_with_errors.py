from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.batch_response_simple_public_upsert_object_with_errors_status import (
    BatchResponseSimplePublicUpsertObjectWithErrorsStatus,
)
from ..types import UNSET, Unset

T = TypeVar("T", bound="BatchResponseSimplePublicUpsertObjectWithErrors")


@_attrs_define
class BatchResponseSimplePublicUpsertObjectWithErrors:
    """The answer when some inputs failed and others were written."""

    completed_at: datetime.datetime
    """ When processing finished. """
    results: list[SimplePublicUpsertObject]
    """ One entry per written record, in no particular order. """
    started_at: datetime.datetime
    """ When processing began. """
    status: BatchResponseSimplePublicUpsertObjectWithErrorsStatus
    """ Processing state; synchronous calls answer COMPLETE. """
    errors: list[StandardError] | Unset = UNSET
    """ One entry per failure, each pointing at its inputs. """
    links: BatchResponseSimplePublicUpsertObjectWithErrorsLinks | Unset = UNSET
    """ Related links, by name. """
    num_errors: int | Unset = UNSET
    """ How many entries `errors` holds. """
    requested_at: datetime.datetime | Unset = UNSET
    """ When the request was received. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        completed_at = self.completed_at.isoformat()

        results = []
        for results_item_data in self.results:
            results_item = results_item_data.to_dict()
            results.append(results_item)

        started_at = self.started_at.isoformat()

        status = self.status.value

        errors: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.errors, Unset):
            errors = []
            for errors_item_data in self.errors:
                errors_item = errors_item_data.to_dict()
                errors.append(errors_item)

        links: dict[str, Any] | Unset = UNSET
        if not isinstance(self.links, Unset):
            links = self.links.to_dict()

        num_errors = self.num_errors

        requested_at: str | Unset = UNSET
        if not isinstance(self.requested_at, Unset):
            requested_at = self.requested_at.isoformat()

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
        if errors is not UNSET:
            field_dict["errors"] = errors
        if links is not UNSET:
            field_dict["links"] = links
        if num_errors is not UNSET:
            field_dict["numErrors"] = num_errors
        if requested_at is not UNSET:
            field_dict["requestedAt"] = requested_at

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

        status = BatchResponseSimplePublicUpsertObjectWithErrorsStatus(d.pop("status"))

        _errors = d.pop("errors", UNSET)
        errors: list[StandardError] | Unset = UNSET
        if _errors is not UNSET:
            errors = []
            for errors_item_data in _errors:
                errors_item = StandardError.from_dict(errors_item_data)

                errors.append(errors_item)

        _links = d.pop("links", UNSET)
        links: BatchResponseSimplePublicUpsertObjectWithErrorsLinks | Unset
        if isinstance(_links, Unset):
            links = UNSET
        else:
            links = BatchResponseSimplePublicUpsertObjectWithErrorsLinks.from_dict(_links)

        num_errors = d.pop("numErrors", UNSET)

        _requested_at = d.pop("requestedAt", UNSET)
        requested_at: datetime.datetime | Unset
        if isinstance(_requested_at, Unset):
            requested_at = UNSET
        else:
            requested_at = datetime.datetime.fromisoformat(_requested_at)

        batch_response_simple_public_upsert_object_with_errors = cls(
            completed_at=completed_at,
            results=results,
            started_at=started_at,
            status=status,
            errors=errors,
            links=links,
            num_errors=num_errors,
            requested_at=requested_at,
        )

        batch_response_simple_public_upsert_object_with_errors.additional_properties = d
        return batch_response_simple_public_upsert_object_with_errors

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


from ..models.batch_response_simple_public_upsert_object_with_errors_links import (
    BatchResponseSimplePublicUpsertObjectWithErrorsLinks,
)
from ..models.simple_public_upsert_object import SimplePublicUpsertObject
from ..models.standard_error import StandardError
