"""HTTP controllers: parse, call one service, map the result."""

from novapulse_entrypoints.api.controllers.auth import AuthController
from novapulse_entrypoints.api.controllers.companies import CompanyController
from novapulse_entrypoints.api.controllers.departments import DepartmentController
from novapulse_entrypoints.api.controllers.health import HealthController
from novapulse_entrypoints.api.controllers.jobs import JobController
from novapulse_entrypoints.api.controllers.jwks import JwksController
from novapulse_entrypoints.api.controllers.mfa import MfaController
from novapulse_entrypoints.api.controllers.users import UserController
from novapulse_entrypoints.api.controllers.webhooks import (
    WebhookController,
    WebhookDeliveryController,
)

__all__ = [
    "AuthController",
    "CompanyController",
    "DepartmentController",
    "HealthController",
    "JobController",
    "JwksController",
    "MfaController",
    "UserController",
    "WebhookController",
    "WebhookDeliveryController",
]
