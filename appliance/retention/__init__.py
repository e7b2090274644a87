"""Retention: the school's policy, deletion dates, crypto-shredding and receipts."""

from .engine import CannotDelete, Retention
from .policy import WARN_DAYS, RetentionPolicy, days_left

__all__ = ["CannotDelete", "Retention", "RetentionPolicy", "WARN_DAYS", "days_left"]
