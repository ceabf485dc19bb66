from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from accounts.models import User, normalize_email
from common.serializers import StrictCharField, StrictEmailField, StrictSerializer

# Bounded so nobody makes us hash a megabyte; long passphrases still fit.
PASSWORD_MAX_LENGTH = 128


class SignupSerializer(StrictSerializer):
    email = StrictEmailField(max_length=254)
    password = StrictCharField(max_length=PASSWORD_MAX_LENGTH, trim_whitespace=False, write_only=True)

    def validate_email(self, value: str) -> str:
        return normalize_email(value)

    def validate(self, attrs):
        try:
            validate_password(attrs["password"], user=User(email=attrs["email"]))
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"password": list(exc.messages)}) from exc
        return attrs


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "tier"]
        read_only_fields = fields


class MeSerializer(serializers.ModelSerializer):
    verified = serializers.BooleanField(source="email_verified", read_only=True)

    class Meta:
        model = User
        fields = ["id", "email", "tier", "verified", "date_joined"]
        read_only_fields = fields
