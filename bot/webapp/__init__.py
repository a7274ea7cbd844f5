"""The admins' Mini App: a small ASGI app served by the bot process, in the bot's own event loop.

`initdata` checks Telegram's signed launch data, `server` is the Starlette app (API + static page),
`runner` starts and stops uvicorn inside the bot, `extensions` is the interface later features plug into.
"""
