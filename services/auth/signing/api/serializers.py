from __future__ import annotations

from rest_framework import serializers

from accounts.api.serializers import PASSWORD_MAX_LENGTH
from common.serializers import StrictCharField, StrictEmailField, StrictSerializer

# A token we issue is ~1 KB; anything far larger is not one of ours.
TOKEN_MAX_LENGTH = 4096


# "cookie": the refresh token goes into an HttpOnly cookie, not the body (signing.api.session_cookie).
DELIVERIES = ("body", "cookie")


class TokenObtainSerializer(StrictSerializer):
    email = StrictEmailField(max_length=254)
    password = StrictCharField(max_length=PASSWORD_MAX_LENGTH, trim_whitespace=False, write_only=True)
    delivery = serializers.ChoiceField(choices=DELIVERIES, required=False)


class TokenRefreshSerializer(StrictSerializer):
    """``refresh`` may be left out by a browser that holds it in the cookie."""

    refresh = StrictCharField(max_length=TOKEN_MAX_LENGTH, required=False)
    delivery = serializers.ChoiceField(choices=DELIVERIES, required=False)


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField(read_only=True)
    refresh = serializers.CharField(read_only=True)
