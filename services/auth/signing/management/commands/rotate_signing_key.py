"""``python manage.py rotate_signing_key``: a new RS256 key signs from now on; the previous
one keeps verifying for its grace period (see signing.keyring)."""
from __future__ import annotations

from django.core.management.base import BaseCommand

from signing.keyring import access_grace, rotate


class Command(BaseCommand):
    help = "Make a new signing key current; the previous key verifies until its grace period ends."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--bits", type=int, default=2048, choices=[2048, 3072, 4096])

    def handle(self, *args, **options) -> None:
        key = rotate(options["bits"])
        self.stdout.write(
            f"new signing key {key.kid} is current; the previous key leaves the JWKS in {access_grace()}"
        )
