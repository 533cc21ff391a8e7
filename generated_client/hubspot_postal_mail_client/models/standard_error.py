from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="StandardError")


@_attrs_define
class StandardError:
    """One failure inside a batch, with the inputs it concerns in `context`."""

    category: str
    """ Broad class of failure, such as VALIDATION_ERROR. """
    message: str
    """ What went wrong, for people. """
    status: str
    """ The HTTP status this failure would have had alone. """
    context: StandardErrorContext | Unset = UNSET
    """ Names mapped to lists of values; `objectWriteTraceId` lists the failing inputs. """
    errors: list[ErrorDetail] | Unset = UNSET
    """ Finer-grained details. """
    id: str | Unset = UNSET
    """ An identifier of this failure. """
    links: StandardErrorLinks | Unset = UNSET
    """ Documentation links, by name. """
    sub_category: StandardErrorSubCategoryType1 | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        category = self.category

        message = self.message

        status = self.status

        context: dict[str, Any] | Unset = UNSET
        if not isinstance(self.context, Unset):
            context = self.context.to_dict()

        errors: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.errors, Unset):
            errors = []
            for errors_item_data in self.errors:
                errors_item = errors_item_data.to_dict()
                errors.append(errors_item)

        id = self.id

        links: dict[str, Any] | Unset = UNSET
        if not isinstance(self.links, Unset):
            links = self.links.to_dict()

        sub_category: dict[str, Any] | str | Unset
        if isinstance(self.sub_category, Unset):
            sub_category = UNSET
        elif isinstance(self.sub_category, StandardErrorSubCategoryType1):
            sub_category = self.sub_category.to_dict()
        else:
            sub_category = self.sub_category

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "category": category,
                "message": message,
                "status": status,
            }
        )
        if context is not UNSET:
            field_dict["context"] = context
        if errors is not UNSET:
            field_dict["errors"] = errors
        if id is not UNSET:
            field_dict["id"] = id
        if links is not UNSET:
            field_dict["links"] = links
        if sub_category is not UNSET:
            field_dict["subCategory"] = sub_category

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        category = d.pop("category")

        message = d.pop("message")

        status = d.pop("status")

        _context = d.pop("context", UNSET)
        context: StandardErrorContext | Unset
        if isinstance(_context, Unset):
            context = UNSET
        else:
            context = StandardErrorContext.from_dict(_context)

        _errors = d.pop("errors", UNSET)
        errors: list[ErrorDetail] | Unset = UNSET
        if _errors is not UNSET:
            errors = []
            for errors_item_data in _errors:
                errors_item = ErrorDetail.from_dict(errors_item_data)

                errors.append(errors_item)

        id = d.pop("id", UNSET)

        _links = d.pop("links", UNSET)
        links: StandardErrorLinks | Unset
        if isinstance(_links, Unset):
            links = UNSET
        else:
            links = StandardErrorLinks.from_dict(_links)

        def _parse_sub_category(data: object) -> StandardErrorSubCategoryType1 | str | Unset:
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                sub_category_type_1 = StandardErrorSubCategoryType1.from_dict(data)

                return sub_category_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(StandardErrorSubCategoryType1 | str | Unset, data)

        sub_category = _parse_sub_category(d.pop("subCategory", UNSET))

        standard_error = cls(
            category=category,
            message=message,
            status=status,
            context=context,
            errors=errors,
            id=id,
            links=links,
            sub_category=sub_category,
        )

        standard_error.additional_properties = d
        return standard_error

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


from ..models.error_detail import ErrorDetail
from ..models.standard_error_context import StandardErrorContext
from ..models.standard_error_links import StandardErrorLinks
from ..models.standard_error_sub_category_type_1 import StandardErrorSubCategoryType1
