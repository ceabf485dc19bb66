"""Auth's strict fields. The serializer base (unknown keys are an error, not silently
dropped) is the shared kit's, re-exported for auth's apps."""
from __future__ import annotations

from atelier_django.serializers import StrictSerializer
from rest_framework import serializers

__all__ = ["StrictCharField", "StrictEmailField", "StrictSerializer"]


class StrictCharField(serializers.CharField):
    """DRF's CharField turns numbers into strings; a JSON number is a type error here."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictEmailField(StrictCharField, serializers.EmailField):
    pass
