"""Request bodies of the account lifecycle routes."""
from __future__ import annotations

from common.serializers import StrictCharField, StrictEmailField, StrictSerializer

from .serializers import PASSWORD_MAX_LENGTH

# Our one-time tokens are 43 characters; a little room, no more.
ONE_TIME_TOKEN_MAX_LENGTH = 128


def _password(**kwargs):
    return StrictCharField(max_length=PASSWORD_MAX_LENGTH, trim_whitespace=False, write_only=True, **kwargs)


class EmptyBodySerializer(StrictSerializer):
    """Routes that take no input still refuse a body that is not an empty object."""


class OneTimeTokenSerializer(StrictSerializer):
    token = StrictCharField(max_length=ONE_TIME_TOKEN_MAX_LENGTH)


class PasswordChangeSerializer(StrictSerializer):
    old_password = _password()
    new_password = _password()


class PasswordResetSerializer(StrictSerializer):
    email = StrictEmailField(max_length=254)


class PasswordResetConfirmSerializer(StrictSerializer):
    token = StrictCharField(max_length=ONE_TIME_TOKEN_MAX_LENGTH)
    new_password = _password()


class DeleteAccountSerializer(StrictSerializer):
    password = _password()
