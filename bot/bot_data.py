"""What the Telegram handlers find in `application.bot_data`: the application's services, built in post_init."""

from __future__ import annotations

from telegram.ext import CallbackContext

from service.services import Services


def services(context: CallbackContext) -> Services:
    """The running application's services (the gallery, the pools, admission …)."""
    return context.application.bot_data["services"]
