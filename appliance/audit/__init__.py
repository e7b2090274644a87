"""Audit log on the kit, encrypted to the teacher and coach; only counts are synced."""

from .log import ACTIONS, AuditLog, pair_key

__all__ = ["ACTIONS", "AuditLog", "pair_key"]
