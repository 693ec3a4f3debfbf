"""DRF permissions: the same role rules as staff pages."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission

from .roles import ADMIN, APPROVER, OPERATOR, VIEWER, has_role


class _RolePermission(BasePermission):
    role = VIEWER

    def has_permission(self, request: Any, view: Any) -> bool:
        return has_role(request, self.role)


class IsViewer(_RolePermission):
    role = VIEWER


class IsOperator(_RolePermission):
    role = OPERATOR


class IsApprover(_RolePermission):
    role = APPROVER


class IsAdmin(_RolePermission):
    role = ADMIN
