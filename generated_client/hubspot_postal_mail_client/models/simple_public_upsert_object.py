from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="SimplePublicUpsertObject")


@_attrs_define
class SimplePublicUpsertObject:
    """A record as stored after the upsert."""

    archived: bool
    """ True when the record is in the recycle bin. """
    created_at: datetime.datetime
    """ When the record was first created. """
    id: str
    """ HubSpot's own record id (hs_object_id). """
    new: bool
    """ True when this call created the record, false when it updated one. """
    properties: SimplePublicUpsertObjectProperties
    """ The record's property values after the write. """
    updated_at: datetime.datetime
    """ When the record last changed. """
    archived_at: datetime.datetime | Unset = UNSET
    """ When the record was archived. """
    object_write_trace_id: str | Unset = UNSET
    """ The trace tag of the input that wrote this record. """
    properties_with_history: SimplePublicUpsertObjectPropertiesWithHistory | Unset = UNSET
    """ Past values per property, when asked for. """
    url: str | Unset = UNSET
    """ Where the record can be opened. """
    warnings: list[PublicObjectWarning] | Unset = UNSET
    """ Non-fatal notes about the write. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        archived = self.archived

        created_at = self.created_at.isoformat()

        id = self.id

        new = self.new

        properties = self.properties.to_dict()

        updated_at = self.updated_at.isoformat()

        archived_at: str | Unset = UNSET
        if not isinstance(self.archived_at, Unset):
            archived_at = self.archived_at.isoformat()

        object_write_trace_id = self.object_write_trace_id

        properties_with_history: dict[str, Any] | Unset = UNSET
        if not isinstance(self.properties_with_history, Unset):
            properties_with_history = self.properties_with_history.to_dict()

        url = self.url

        warnings: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.warnings, Unset):
            warnings = []
            for warnings_item_data in self.warnings:
                warnings_item = warnings_item_data.to_dict()
                warnings.append(warnings_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "archived": archived,
                "createdAt": created_at,
                "id": id,
                "new": new,
                "properties": properties,
                "updatedAt": updated_at,
            }
        )
        if archived_at is not UNSET:
            field_dict["archivedAt"] = archived_at
        if object_write_trace_id is not UNSET:
            field_dict["objectWriteTraceId"] = object_write_trace_id
        if properties_with_history is not UNSET:
            field_dict["propertiesWithHistory"] = properties_with_history
        if url is not UNSET:
            field_dict["url"] = url
        if warnings is not UNSET:
            field_dict["warnings"] = warnings

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        archived = d.pop("archived")

        created_at = datetime.datetime.fromisoformat(d.pop("createdAt"))

        id = d.pop("id")

        new = d.pop("new")

        properties = SimplePublicUpsertObjectProperties.from_dict(d.pop("properties"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updatedAt"))

        _archived_at = d.pop("archivedAt", UNSET)
        archived_at: datetime.datetime | Unset
        if isinstance(_archived_at, Unset):
            archived_at = UNSET
        else:
            archived_at = datetime.datetime.fromisoformat(_archived_at)

        object_write_trace_id = d.pop("objectWriteTraceId", UNSET)

        _properties_with_history = d.pop("propertiesWithHistory", UNSET)
        properties_with_history: SimplePublicUpsertObjectPropertiesWithHistory | Unset
        if isinstance(_properties_with_history, Unset):
            properties_with_history = UNSET
        else:
            properties_with_history = SimplePublicUpsertObjectPropertiesWithHistory.from_dict(_properties_with_history)

        url = d.pop("url", UNSET)

        _warnings = d.pop("warnings", UNSET)
        warnings: list[PublicObjectWarning] | Unset = UNSET
        if _warnings is not UNSET:
            warnings = []
            for warnings_item_data in _warnings:
                warnings_item = PublicObjectWarning.from_dict(warnings_item_data)

                warnings.append(warnings_item)

        simple_public_upsert_object = cls(
            archived=archived,
            created_at=created_at,
            id=id,
            new=new,
            properties=properties,
            updated_at=updated_at,
            archived_at=archived_at,
            object_write_trace_id=object_write_trace_id,
            properties_with_history=properties_with_history,
            url=url,
            warnings=warnings,
        )

        simple_public_upsert_object.additional_properties = d
        return simple_public_upsert_object

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


from ..models.public_object_warning import PublicObjectWarning
from ..models.simple_public_upsert_object_properties import (
    SimplePublicUpsertObjectProperties,
)
from ..models.simple_public_upsert_object_properties_with_history import (
    SimplePublicUpsertObjectPropertiesWithHistory,
)
