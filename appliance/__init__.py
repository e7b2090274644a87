"""Lesson kit: the appliance that records, encrypts and serves a lesson."""

__version__ = "0.1.0"
