"""Mail over SMTP (Django's mail backend, settings EMAIL_HOST/EMAIL_PORT/EMAIL_TIMEOUT)."""

from __future__ import annotations

import smtplib
from collections.abc import Sequence

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from ..transports import Sent, TransportError, excerpt


class EmailTransport:
    def notify(self, subject: str, body: str, to: Sequence[str]) -> Sent:
        """Send one mail to `to`; a refused recipient is permanent, a down server is not."""
        connection = get_connection(
            "django.core.mail.backends.smtp.EmailBackend", timeout=settings.EMAIL_TIMEOUT
        )
        message = EmailMessage(
            subject=subject[:200].replace("\n", " "),
            body=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=list(to),
            connection=connection,
        )
        try:
            message.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            raise TransportError(
                f"recipients refused: {excerpt(str(exc))}", permanent=True
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise TransportError(f"{type(exc).__name__}: {excerpt(str(exc))}") from None
        return Sent(response_excerpt=f"mailed {', '.join(to)}"[:300])
