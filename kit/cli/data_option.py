"""The ``--data DIR`` option shared by the kit's commands, and its default."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from appliance.paths import KitPaths
from appliance.config import DEFAULT_DATA_DIR

# `make run` keeps the simulated kit's data in ./data of the checkout.
SIMULATION_DATA_DIR = Path("data")


def default_data_dir(simulate: bool = False) -> Path:
    """``$KIT_DATA``; else ``./data`` in simulation or when it holds a kit; else the kit's own."""
    if os.environ.get("KIT_DATA"):
        return Path(os.environ["KIT_DATA"])
    if simulate or KitPaths(SIMULATION_DATA_DIR).catalogue.exists():
        return SIMULATION_DATA_DIR
    return DEFAULT_DATA_DIR


def add_data_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data", metavar="DIR", type=Path, default=None,
        help=f"data directory (default: $KIT_DATA, else ./data if it holds a kit, else {DEFAULT_DATA_DIR})",
    )


def data_dir_from(args: argparse.Namespace, simulate: bool = False) -> Path:
    return Path(args.data or default_data_dir(simulate)).absolute()


def open_catalogue(data_dir: Path):
    """The catalogue in ``data_dir``; a one-line KitError when it cannot be opened."""
    import sqlite3

    from appliance.catalogue import Catalogue
    from appliance.errors import KitError

    try:
        return Catalogue(KitPaths(data_dir).catalogue)
    except PermissionError:
        raise KitError(f"no permission to use the kit data in {data_dir} (try sudo, or --data DIR)") from None
    except (OSError, sqlite3.DatabaseError) as exc:
        raise KitError(f"cannot open the kit catalogue in {data_dir}: {exc}") from None
