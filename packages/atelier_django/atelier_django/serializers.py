"""Serializer base for request bodies: unknown fields are refused, never ignored."""
from __future__ import annotations

from rest_framework import serializers


class StrictSerializer(serializers.Serializer):
    """A typo in a field name must not silently fall back to a default. Unknown fields are
    reported together with the other field errors, so one answer names every problem."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["expected a JSON object"]})
        errors = {name: ["unknown field"] for name in sorted(set(data) - set(self.fields))}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            errors.update(exc.detail)
        if errors:
            raise serializers.ValidationError(errors)
        return value
