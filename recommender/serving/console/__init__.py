"""The operator console: server-rendered pages under ``/console`` in the API's own app.

Pages (Jinja2 templates, one stylesheet, plots drawn on the server as inline SVG) are served
from the package; nothing is fetched from another host, so the console works offline. See
:mod:`.session` for login, cookies and CSRF, :mod:`.i18n` for the languages, :mod:`.views` for
what each page shows and :mod:`.tally` for what the API counts for it.
"""

from __future__ import annotations

import time
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from recommender.serving.console.session import Sessions
from recommender.serving.console.tally import ServingTally
from recommender.serving.console.views import ConsoleOptions

__all__ = ["ConsoleOptions", "install_console"]


def install_console(app: FastAPI, options: ConsoleOptions | None, *,
                    admin_keys: tuple[str, ...]) -> None:
    """Mount the console on ``app``: its routes, its static files and its session signer
    (admins log in with an admin key, operators with an operator key)."""
    from recommender.serving.console.routes import router

    options = options or ConsoleOptions()
    app.state.console_options = options
    app.state.console_sessions = Sessions(
        options.secret, options.session_seconds, admin_keys=admin_keys,
        operator_keys=options.operator_keys, secure=options.secure_cookie)
    app.state.console_tally = ServingTally()
    app.state.console_started = time.monotonic()
    app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=Path(__file__).parent / "static"),
              name="console-static")
