from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="Error")


@_attrs_define
class Error:
    """Why a whole request failed."""

    message: str
    """ What went wrong, for people. """
    category: str | Unset = UNSET
    """ Broad class of failure, such as VALIDATION_ERROR or RATE_LIMITS. """
    context: ErrorContext | Unset = UNSET
    """ Names mapped to lists of values that explain the failure. """
    correlation_id: str | Unset = UNSET
    """ HubSpot's id for this request; quote it to their support. """
    errors: list[ErrorDetail] | Unset = UNSET
    """ Finer-grained details. """
    links: ErrorLinks | Unset = UNSET
    """ Documentation links, by name. """
    sub_category: str | Unset = UNSET
    """ A narrower class of failure. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        message = self.message

        category = self.category

        context: dict[str, Any] | Unset = UNSET
        if not isinstance(self.context, Unset):
            context = self.context.to_dict()

        correlation_id = self.correlation_id

        errors: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.errors, Unset):
            errors = []
            for errors_item_data in self.errors:
                errors_item = errors_item_data.to_dict()
                errors.append(errors_item)

        links: dict[str, Any] | Unset = UNSET
        if not isinstance(self.links, Unset):
            links = self.links.to_dict()

        sub_category = self.sub_category

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "message": message,
            }
        )
        if category is not UNSET:
            field_dict["category"] = category
        if context is not UNSET:
            field_dict["context"] = context
        if correlation_id is not UNSET:
            field_dict["correlationId"] = correlation_id
        if errors is not UNSET:
            field_dict["errors"] = errors
        if links is not UNSET:
            field_dict["links"] = links
        if sub_category is not UNSET:
            field_dict["subCategory"] = sub_category

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        message = d.pop("message")

        category = d.pop("category", UNSET)

        _context = d.pop("context", UNSET)
        context: ErrorContext | Unset
        if isinstance(_context, Unset):
            context = UNSET
        else:
            context = ErrorContext.from_dict(_context)

        correlation_id = d.pop("correlationId", UNSET)

        _errors = d.pop("errors", UNSET)
        errors: list[ErrorDetail] | Unset = UNSET
        if _errors is not UNSET:
            errors = []
            for errors_item_data in _errors:
                errors_item = ErrorDetail.from_dict(errors_item_data)

                errors.append(errors_item)

        _links = d.pop("links", UNSET)
        links: ErrorLinks | Unset
        if isinstance(_links, Unset):
            links = UNSET
        else:
            links = ErrorLinks.from_dict(_links)

        sub_category = d.pop("subCategory", UNSET)

        error = cls(
            message=message,
            category=category,
            context=context,
            correlation_id=correlation_id,
            errors=errors,
            links=links,
            sub_category=sub_category,
        )

        error.additional_properties = d
        return error

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


from ..models.error_context import ErrorContext
from ..models.error_detail import ErrorDetail
from ..models.error_links import ErrorLinks
