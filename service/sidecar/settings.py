"""The sidecar's settings: flags, ``QUICKPHRASE_*`` environment variables, a config file.

Precedence, highest first: ``quickphrase serve`` flags, environment variables,
the ``--config`` file (TOML or YAML, same keys as below), the defaults.
"""

from __future__ import annotations

import ipaddress
import json
import os
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import platformdirs
import yaml
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

MAX_BODY_BYTES = 1 << 20
_PATH_KEYS = frozenset({"db", "model", "phrases", "rules"})


def default_db_path() -> Path:
    return platformdirs.user_data_path("quickphrase") / "feedback.sqlite3"


class Settings(BaseSettings):
    """Everything ``quickphrase serve`` can be told; see the README for examples."""

    model_config = SettingsConfigDict(env_prefix="QUICKPHRASE_", extra="forbid")

    config: Path | None = Field(None, description="A TOML or YAML file of these settings.")
    host: str = Field("127.0.0.1", description="Address to bind; loopback by default.")
    port: int = Field(8000, ge=0, le=65535)
    workers: int = Field(1, ge=1, le=64, description="Worker processes.")
    model: Path | None = Field(None, description="Model directory (default: bundled).")
    phrases: Path | None = Field(None, description="Phrase library directory (default: bundled).")
    rules: list[Path] = Field(default_factory=list, description="A shop's own rule files.")
    disable_rules: list[str] = Field(default_factory=list)
    db: Path = Field(default_factory=default_db_path, description="SQLite feedback store.")
    api_key: SecretStr | None = Field(
        None, description="Required in X-API-Key off loopback, and for admin routes always."
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_json: bool = Field(False, description="Log one JSON object per line.")
    access_log: bool = Field(False, description="Log every request (route, status, time).")
    max_body_bytes: int = Field(MAX_BODY_BYTES, ge=1024)
    sync_seconds: float = Field(
        5.0, gt=0, description="How often a worker re-reads acceptance counts and reloads."
    )

    @field_validator("api_key")
    @classmethod
    def _key_not_blank(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().strip()) < 8:
            raise ValueError("the API key must have at least 8 characters")
        return value

    @cached_property
    def loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False  # a host name: treat as reachable from elsewhere

    def env(self) -> dict[str, str]:
        """These settings as ``QUICKPHRASE_*`` variables, for worker processes."""
        out: dict[str, str] = {}
        for name, value in self.model_dump(exclude_none=True).items():
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            if isinstance(value, list):
                out[f"QUICKPHRASE_{name.upper()}"] = json.dumps([str(v) for v in value])
            else:
                out[f"QUICKPHRASE_{name.upper()}"] = str(value)
        return out

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _ConfigFile(settings_cls, init_settings))


class ConfigError(ValueError):
    """A config file that cannot be read; the message names it."""


class _ConfigFile(PydanticBaseSettingsSource):
    """The ``config`` file named by a flag or ``QUICKPHRASE_CONFIG``, read whole."""

    def __init__(self, settings_cls: type[BaseSettings], init: PydanticBaseSettingsSource) -> None:
        super().__init__(settings_cls)
        kwargs = getattr(init, "init_kwargs", {})
        named = kwargs.get("config") or os.environ.get("QUICKPHRASE_CONFIG")
        self.path = Path(named) if named else None

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads the whole file

    def __call__(self) -> dict[str, Any]:
        if self.path is None:
            return {}
        try:
            raw = self.path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"{self.path}: cannot read ({exc.strerror})") from None
        try:
            if self.path.suffix.lower() == ".toml":
                data = tomllib.loads(raw.decode("utf-8"))
            elif self.path.suffix.lower() in (".yaml", ".yml"):
                data = yaml.safe_load(raw) or {}
            else:
                raise ConfigError(f"{self.path}: a config file is .toml or .yaml")
        except (UnicodeDecodeError, tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
            raise ConfigError(f"{self.path}: not valid {self.path.suffix[1:]}: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{self.path}: expected a table of settings")
        settings = {k.replace("-", "_"): v for k, v in data.items()}
        # Paths in a config file are relative to the file, not to where serve runs.
        for key in _PATH_KEYS & settings.keys():
            value = settings[key]
            if isinstance(value, str):
                settings[key] = str(self.path.parent / value)
            elif isinstance(value, list):
                settings[key] = [
                    str(self.path.parent / v) if isinstance(v, str) else v for v in value
                ]
        return settings
