"""Make a staff member: the one identity that logs into both admins (auth's, and payments'
through auth, see payments' ``common.staff_backend``). ``make staff EMAIL=...`` runs this.

A new address gets an account (verified: staff vouch for it), announced with
``auth.user.registered`` like any signup so every service's projection knows it; an
existing account keeps its password and is promoted. The password is read from
``ATELIER_STAFF_PASSWORD`` when set (scripts, tests), else asked for twice at the terminal."""
from __future__ import annotations

import getpass
import os

from atelier_messaging.django import publish_on_commit
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts import audit
from accounts.models import User, normalize_email
from accounts.services import user_registered_envelope

PASSWORD_VARIABLE = "ATELIER_STAFF_PASSWORD"


class Command(BaseCommand):
    help = "Create a staff account (or promote an existing one) that logs into both admins"

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--not-superuser", action="store_true",
                            help="staff without every permission; a superuser grants them in each admin")

    def handle(self, *args, email: str, not_superuser: bool, **options):
        address = normalize_email(email)
        if "@" not in address:
            raise CommandError(f"{email!r} is not an e-mail address")
        superuser = not not_superuser
        existing = User.objects.filter(email=address).first()
        password = None if existing is not None else self._new_password(User(email=address))
        with transaction.atomic():
            if existing is None:
                user = User.objects.create_user(address, password, is_staff=True, is_superuser=superuser,
                                                email_verified=True)
                publish_on_commit(user_registered_envelope(user, correlation_id=None))
            else:
                user = User.objects.select_for_update().get(pk=existing.pk)
                user.is_staff, user.is_superuser, user.is_active = True, superuser or user.is_superuser, True
                user.save(update_fields=["is_staff", "is_superuser", "is_active"])
            audit.record("staff.granted", target=user, new="superuser" if user.is_superuser else "staff",
                         reason="manage.py create_staff")
        verb = "created" if existing is None else "promoted"
        self.stdout.write(f"{verb} {user.email} as {'superuser' if user.is_superuser else 'staff'}; "
                          "log in at /admin/ (both admins take this e-mail address and password)\n")

    def _new_password(self, user: User) -> str:
        password = os.environ.get(PASSWORD_VARIABLE)
        if password is None:
            password = getpass.getpass(f"Password for {user.email}: ")
            if getpass.getpass("The same password again: ") != password:
                raise CommandError("the two passwords differ")
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        return password
