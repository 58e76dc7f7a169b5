"""MongoDB adapters (Beanie 2 on pymongo's async client): documents, stores and the connection."""

from novapulse_adapters.mongo.connection import MongoConnection
from novapulse_adapters.mongo.documents import (
    DOCUMENT_MODELS,
    CompanyDocument,
    DepartmentDocument,
    UserDocument,
)
from novapulse_adapters.mongo.jobs import BeanieJobStore, JobDocument
from novapulse_adapters.mongo.mfa import BeanieMfaStore, MfaDocument
from novapulse_adapters.mongo.sessions import BeanieRefreshTokenStore, RefreshTokenDocument
from novapulse_adapters.mongo.stores import (
    BeanieCompanyStore,
    BeanieDepartmentStore,
    BeanieUserStore,
)
from novapulse_adapters.mongo.webhooks import (
    BeanieWebhookDeliveryStore,
    BeanieWebhookEndpointStore,
    DeliveryAttemptDocument,
    WebhookDeliveryDocument,
    WebhookEndpointDocument,
)

__all__ = [
    "DOCUMENT_MODELS",
    "BeanieCompanyStore",
    "BeanieDepartmentStore",
    "BeanieJobStore",
    "BeanieMfaStore",
    "BeanieRefreshTokenStore",
    "BeanieUserStore",
    "BeanieWebhookDeliveryStore",
    "BeanieWebhookEndpointStore",
    "CompanyDocument",
    "DeliveryAttemptDocument",
    "DepartmentDocument",
    "JobDocument",
    "MfaDocument",
    "MongoConnection",
    "RefreshTokenDocument",
    "UserDocument",
    "WebhookDeliveryDocument",
    "WebhookEndpointDocument",
]
