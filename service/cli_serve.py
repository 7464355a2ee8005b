"""``quickphrase serve``: the HTTP sidecar."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from .cli_common import (
    EXIT_BAD_INPUT,
    EXIT_CONFIG,
    DisableRuleOption,
    ModelOption,
    RulesOption,
    fail,
)


def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to bind (default: 127.0.0.1).", show_default=False)
    ] = None,
    port: Annotated[int | None, typer.Option(help="(default: 8000)", show_default=False)] = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default: 1).", show_default=False)
    ] = None,
    phrases: Annotated[
        Path | None,
        typer.Option(
            help="Phrase library directory (default: the bundled one).", show_default=False
        ),
    ] = None,
    db: Annotated[
        Path | None,
        typer.Option(
            help="SQLite feedback store (default: feedback.sqlite3 in the user data directory).",
            show_default=False,
        ),
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="TOML or YAML file of settings (see README).")
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            help="Key clients send as X-API-Key; prefer $QUICKPHRASE_API_KEY (a flag shows in ps).",
            show_default=False,
        ),
    ] = None,
    model: ModelOption = None,
    rules: RulesOption = None,
    disable_rule: DisableRuleOption = None,
    log_level: Annotated[
        str | None, typer.Option(help="debug, info, warning or error (default: info).")
    ] = None,
    log_json: Annotated[
        bool | None,
        typer.Option("--log-json/--log-text", help="Log JSON lines.", show_default=False),
    ] = None,
    access_log: Annotated[
        bool | None,
        typer.Option(
            "--access-log/--no-access-log",
            help="Log each request (never its body).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run the HTTP sidecar (API docs at /docs). Settings also come from
    QUICKPHRASE_* environment variables and --config; flags win."""
    from .sidecar.server import run  # FastAPI and uvicorn load only for this command
    from .sidecar.settings import ConfigError, Settings
    from .sidecar.state import StartupError

    try:
        settings = Settings(
            **{
                name: value
                for name, value in {
                    "config": config,
                    "host": host,
                    "port": port,
                    "workers": workers,
                    "phrases": phrases,
                    "db": db,
                    "api_key": api_key,
                    "model": model,
                    "rules": rules,
                    "disable_rules": disable_rule,
                    "log_level": log_level,
                    "log_json": log_json,
                    "access_log": access_log,
                }.items()
                if value is not None
            }
        )
    except ConfigError as exc:
        raise fail(str(exc), EXIT_CONFIG) from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        raise fail(f"invalid settings: {problems}", EXIT_BAD_INPUT) from None
    try:
        run(settings)
    except StartupError as exc:
        raise fail(str(exc), EXIT_CONFIG) from None
