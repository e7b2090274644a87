"""What Beheer shows of the kit itself: storage, recording time left, temperature, version.

The same readings the kit reports to the school server (``sync.agent.health``),
in the page's language and number format.
"""

from __future__ import annotations

import shutil
from typing import Any

from babel.numbers import format_decimal
from flask import current_app, g

from appliance import __version__
from sync.agent.health import temperature_c


def _n(value: float, pattern: str = "#,##0.#") -> str:
    return format_decimal(value, format=pattern, locale=g.get("locale", "nl"))


def readings() -> dict[str, Any]:
    usage = shutil.disk_usage(current_app.config["DATA_DIR"])
    controller = current_app.extensions.get("kit_controller")
    minutes = None
    if controller is not None:
        try:
            minutes = controller.status().get("minutes_left")
        except Exception:  # the page shows what it can; the recorder reports its own problems
            current_app.logger.warning("no recording time estimate for Beheer")
    temperature = temperature_c()
    return {
        "free_gb": _n(usage.free / 1e9),
        "total_gb": _n(usage.total / 1e9),
        "free_percent": _n(100 * usage.free / (usage.total or 1), "#,##0"),
        "low": usage.free < 0.1 * usage.total,
        "hours_left": None if minutes is None else _n(minutes / 60),
        "temperature": None if temperature is None else _n(temperature),
        "hot": temperature is not None and temperature >= 75,
        "version": __version__,
    }
