"""``quickphrase hotkey``: the agent's desktop helper (see ``service/hotkey``)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .cli_common import (
    EXIT_BAD_INPUT,
    EXIT_CONFIG,
    DisableRuleOption,
    ModelOption,
    PhrasesOption,
    RulesOption,
    ShopTypeOption,
    check_shop_type,
    fail,
    load_engine,
)

if TYPE_CHECKING:
    from .hotkey.backends import Backend

EXIT_NO_DESKTOP = 4


def hotkey(
    server: Annotated[
        str | None,
        typer.Option(
            envvar="QUICKPHRASE_SERVER",
            help="Sidecar URL, e.g. http://127.0.0.1:8000; choices are reported to it "
            "as feedback (default: the in-process engine, no feedback).",
            show_default=False,
        ),
    ] = None,
    suggest_key: Annotated[
        str, typer.Option(help="Hotkey: suggest replies to the copied buyer message.")
    ] = "ctrl+alt+q",
    check_key: Annotated[str, typer.Option(help="Hotkey: check the copied draft.")] = "ctrl+alt+w",
    paste: Annotated[
        bool, typer.Option(help="Also paste the picked reply into the window that had focus.")
    ] = False,
    shop_type: ShopTypeOption = "taobao",
    agent_id: Annotated[
        str | None, typer.Option(help="Your agent id, for the sidecar's stats.")
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            envvar="QUICKPHRASE_API_KEY",
            help="The sidecar's X-API-Key, if it needs one (prefer $QUICKPHRASE_API_KEY).",
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds to wait for the sidecar.")] = 2.0,
    phrases: PhrasesOption = None,
    model: ModelOption = None,
    rules: RulesOption = None,
    disable_rule: DisableRuleOption = None,
) -> None:
    """Desktop helper: copy a buyer message, press the suggest hotkey, pick 1-3.

    The check hotkey shows the verdict on a copied draft and offers its
    redacted text. Without --server the engine runs in this process; with it,
    the sidecar answers and records which replies agents pick, and when it
    cannot be reached the in-process engine answers instead (the popup says so).
    """
    from .hotkey.keys import HotkeyError, distinct_hotkeys

    check_shop_type(shop_type)
    try:
        distinct_hotkeys(suggest_key, check_key)
    except HotkeyError as exc:
        raise fail(str(exc), EXIT_BAD_INPUT) from None
    if server is not None and not server.startswith(("http://", "https://")):
        raise fail(f"--server {server!r} is not an http:// or https:// URL", EXIT_BAD_INPUT)
    from .hotkey.app import DesktopError, Hotkeys, preflight, run, single_instance

    try:
        preflight()
        from .hotkey.clipboard import SystemClipboard

        clipboard = SystemClipboard()
    except ImportError:
        raise fail(
            "the hotkey helper needs pynput and pyperclip: pip install 'quickphrase[hotkey]'",
            EXIT_NO_DESKTOP,
        ) from None
    except DesktopError as exc:
        raise fail(str(exc), EXIT_NO_DESKTOP) from None
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise
    from .hotkey.assistant import Assistant

    try:
        with single_instance():
            backend = _backend(server, api_key, timeout, model, phrases, rules, disable_rule)
            assistant = Assistant(backend, clipboard, shop_type=shop_type, agent_id=agent_id)
            try:
                run(
                    assistant,
                    Hotkeys(suggest_key, check_key),
                    paste=paste,
                    announce=lambda line: typer.echo(line, err=True),
                )
            finally:
                close = getattr(backend, "close", None)
                if close is not None:
                    close()
    except DesktopError as exc:
        raise fail(str(exc), EXIT_NO_DESKTOP) from None


def _backend(
    server: str | None,
    api_key: str | None,
    timeout: float,
    model: Path | None,
    phrases: Path | None,
    rules: list[Path] | None,
    disable: list[str] | None,
) -> Backend:
    from .hotkey.backends import (
        BackendError,
        FallbackBackend,
        LocalBackend,
        SidecarBackend,
        SidecarUnreachableError,
    )

    if server is None:
        typer.echo("loading the in-process engine...", err=True)
        return LocalBackend(load_engine(model, phrases, rules, disable))

    def local() -> LocalBackend:
        try:
            return LocalBackend(load_engine(model, phrases, rules, disable))
        except typer.Exit:  # load_engine has already said why
            raise BackendError(
                "the in-process engine cannot load either (see the terminal)"
            ) from None

    sidecar = SidecarBackend(server, api_key=api_key, timeout=timeout)
    backend = FallbackBackend(sidecar, local)
    try:
        sidecar.ready()
    except SidecarUnreachableError as exc:
        try:  # logs that it falls back, and why
            backend.fall_back(str(exc))
        except BackendError:
            raise typer.Exit(EXIT_CONFIG) from None
    except BackendError as exc:
        raise fail(str(exc), EXIT_CONFIG) from None
    else:
        typer.echo(f"using the sidecar at {sidecar.url}", err=True)
    return backend
