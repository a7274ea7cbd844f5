"""The application layer: what happens to a photo (and a game, an album, a gallery edit) whichever front end
asked — the Telegram bot, the admins' Mini App or the `lookalike` CLI. Above store/, below the front ends;
it knows no Telegram (see docs/architecture.md)."""
