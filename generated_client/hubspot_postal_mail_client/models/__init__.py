"""Contains all the data models used in inputs/outputs"""

from .batch_input_simple_public_object_batch_input_upsert import (
    BatchInputSimplePublicObjectBatchInputUpsert,
)
from .batch_response_simple_public_upsert_object import (
    BatchResponseSimplePublicUpsertObject,
)
from .batch_response_simple_public_upsert_object_links import (
    BatchResponseSimplePublicUpsertObjectLinks,
)
from .batch_response_simple_public_upsert_object_status import (
    BatchResponseSimplePublicUpsertObjectStatus,
)
from .batch_response_simple_public_upsert_object_with_errors import (
    BatchResponseSimplePublicUpsertObjectWithErrors,
)
from .batch_response_simple_public_upsert_object_with_errors_links import (
    BatchResponseSimplePublicUpsertObjectWithErrorsLinks,
)
from .batch_response_simple_public_upsert_object_with_errors_status import (
    BatchResponseSimplePublicUpsertObjectWithErrorsStatus,
)
from .error import Error
from .error_context import ErrorContext
from .error_detail import ErrorDetail
from .error_detail_context_type_0 import ErrorDetailContextType0
from .error_links import ErrorLinks
from .public_object_warning import PublicObjectWarning
from .public_object_warning_context import PublicObjectWarningContext
from .simple_public_object_batch_input_upsert import SimplePublicObjectBatchInputUpsert
from .simple_public_object_batch_input_upsert_properties import (
    SimplePublicObjectBatchInputUpsertProperties,
)
from .simple_public_upsert_object import SimplePublicUpsertObject
from .simple_public_upsert_object_properties import SimplePublicUpsertObjectProperties
from .simple_public_upsert_object_properties_with_history import (
    SimplePublicUpsertObjectPropertiesWithHistory,
)
from .standard_error import StandardError
from .standard_error_context import StandardErrorContext
from .standard_error_links import StandardErrorLinks
from .standard_error_sub_category_type_1 import StandardErrorSubCategoryType1
from .value_with_timestamp import ValueWithTimestamp

__all__ = (
    "BatchInputSimplePublicObjectBatchInputUpsert",
    "BatchResponseSimplePublicUpsertObject",
    "BatchResponseSimplePublicUpsertObjectLinks",
    "BatchResponseSimplePublicUpsertObjectStatus",
    "BatchResponseSimplePublicUpsertObjectWithErrors",
    "BatchResponseSimplePublicUpsertObjectWithErrorsLinks",
    "BatchResponseSimplePublicUpsertObjectWithErrorsStatus",
    "Error",
    "ErrorContext",
    "ErrorDetail",
    "ErrorDetailContextType0",
    "ErrorLinks",
    "PublicObjectWarning",
    "PublicObjectWarningContext",
    "SimplePublicObjectBatchInputUpsert",
    "SimplePublicObjectBatchInputUpsertProperties",
    "SimplePublicUpsertObject",
    "SimplePublicUpsertObjectProperties",
    "SimplePublicUpsertObjectPropertiesWithHistory",
    "StandardError",
    "StandardErrorContext",
    "StandardErrorLinks",
    "StandardErrorSubCategoryType1",
    "ValueWithTimestamp",
)
