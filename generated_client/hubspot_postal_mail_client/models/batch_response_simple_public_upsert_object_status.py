from enum import StrEnum


class BatchResponseSimplePublicUpsertObjectStatus(StrEnum):
    CANCELED = "CANCELED"
    COMPLETE = "COMPLETE"
    PENDING = "PENDING"
    PROCESSING = "PROCESSING"

    @classmethod
    def _missing_(cls, value: object) -> "BatchResponseSimplePublicUpsertObjectStatus | None":
        # HubSpot adds values to shared enums over time. An unknown string becomes a
        # pseudo-member that keeps its value (so to_dict() round-trips) and reports
        # is_known == False, instead of failing the whole response.
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return member

    @property
    def is_known(self) -> bool:
        """False for a value this client was generated without."""
        return any(self is member for member in type(self))

    def __str__(self) -> str:
        return str(self.value)
