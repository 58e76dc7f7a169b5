"""Use cases, one module per capability; every dependency arrives as a port."""

from novapulse_core.services.auth import AuthService
from novapulse_core.services.companies import CompanyService
from novapulse_core.services.departments import DepartmentService
from novapulse_core.services.mfa import MfaService
from novapulse_core.services.stats import StatsService
from novapulse_core.services.users import UserService

__all__ = [
    "AuthService",
    "CompanyService",
    "DepartmentService",
    "MfaService",
    "StatsService",
    "UserService",
]
