"""The email backend used when no SMTP server is configured: each message becomes one `.eml` file.

Files are written whole under a temporary name and renamed, so a reader of the outbox folder never sees
half a message; the name sorts by time of writing.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage

logger = logging.getLogger(__name__)


def outbox_dir() -> Path:
    return Path(getattr(settings, "EMAIL_FILE_PATH", settings.DATA_DIR / "outbox"))


class EmlFileBackend(BaseEmailBackend):
    """Writes each message as DATA_DIR/outbox/<time>-<random>.eml (RFC 5322 bytes, for any mail client)."""

    def __init__(self, file_path: str | None = None, fail_silently: bool = False, **kwargs: Any) -> None:
        super().__init__(fail_silently=fail_silently, **kwargs)
        self.folder = Path(file_path) if file_path else outbox_dir()

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        if not email_messages:
            return 0
        self.folder.mkdir(parents=True, exist_ok=True)
        written = 0
        for message in email_messages:
            if not message.recipients():
                continue
            name = f"{time.time_ns():020d}-{secrets.token_hex(4)}.eml"
            final = self.folder / name
            partial = self.folder / f".{name}.part"
            try:
                partial.write_bytes(message.message().as_bytes(linesep="\r\n"))
                os.replace(partial, final)
            except OSError:
                partial.unlink(missing_ok=True)
                if not self.fail_silently:
                    raise
                continue
            logger.info("email to %s written to %s (no SMTP server configured)", ", ".join(message.to), final)
            written += 1
        return written
