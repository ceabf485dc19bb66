from __future__ import annotations

from rest_framework import serializers

from atelier_identity.scopes import SCOPE_NAMES

from apikeys.models import ApiKey
from common.serializers import StrictCharField, StrictSerializer


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer only: no strings, floats or booleans."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class ApiKeyCreateSerializer(StrictSerializer):
    name = StrictCharField(max_length=100)
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=SCOPE_NAMES), required=False,
                                   allow_empty=False, max_length=len(SCOPE_NAMES))
    expires_in_days = StrictIntegerField(required=False, allow_null=True, min_value=1, max_value=3650)

    def validate_scopes(self, value):
        return sorted(set(value), key=SCOPE_NAMES.index)


class ApiKeyRotateSerializer(StrictSerializer):
    grace_seconds = StrictIntegerField(required=False, min_value=0, max_value=7 * 24 * 3600, default=0)


class IntrospectSerializer(StrictSerializer):
    # Any string is a key to judge (malformed ones are 401 api_key_invalid); only the
    # shape of the body itself is a 400.
    key = StrictCharField(max_length=4096, trim_whitespace=False, allow_blank=True)


class ApiKeySerializer(serializers.ModelSerializer):
    tier = serializers.CharField(source="effective_tier", read_only=True)

    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "scopes", "tier", "limits", "created_at", "last_used_at", "expires_at", "revoked_at"]
        read_only_fields = fields
