"""E-mail outside production: each message becomes one ``.eml`` file in ATELIER_MAIL_DIR,
readable by people and by end-to-end tests that follow the verification link."""
from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend


class EmlFileBackend(BaseEmailBackend):
    def __init__(self, *args, mail_dir: str | os.PathLike | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.mail_dir = Path(mail_dir or settings.ATELIER_MAIL_DIR)

    def send_messages(self, email_messages) -> int:
        self.mail_dir.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
            path = self.mail_dir / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
            # Write then rename, so a reader polling the folder never sees half a message.
            partial = path.with_suffix(".eml.part")
            partial.write_bytes(message.message().as_bytes())
            partial.replace(path)
            sent += 1
        return sent
