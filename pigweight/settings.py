"""Every knob of PigWeight, read from the environment and `.env`, grouped by concern.

The environment names are the field names of the groups (case-insensitive, no prefix), so
the farm's legacy `.env` files (`MODEL_PATH`, `CONF_THRESHOLD`, `FPS`, ...) keep working:
the environment and `.env` are read flat, through pydantic-settings' own sources, and each
name is routed into its group (`FPS` -> `settings.cameras.fps`). Keyword arguments in code
may be flat too (`Settings(fps=5)`, `load_settings(records_dir=...)`); code that reads a
setting reads it from its group, and a service that needs one concern takes only that group.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, SecretStr, ValidationError, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from pigweight.redact import MASK, redact_url
from pigweight.settings_groups import (
    ArchiveSettings,
    CameraSettings,
    LimitSettings,
    SegmenterName,
    ServerSettings,
    TeachingSettings,
    VisionSettings,
    WebRTCSettings,
    WeighingSettings,
)
from pigweight.settings_sites import SiteSettings

__all__ = [
    "ArchiveSettings",
    "CameraSettings",
    "LimitSettings",
    "SegmenterName",
    "ServerSettings",
    "Settings",
    "SettingsError",
    "SiteSettings",
    "TeachingSettings",
    "VisionSettings",
    "WebRTCSettings",
    "WeighingSettings",
    "load_settings",
]

_CONFIG = SettingsConfigDict(
    env_file=".env",
    env_file_encoding="utf-8",
    extra="forbid",
    case_sensitive=False,
    validate_default=True,
)


def _group(model: type[BaseModel]) -> Any:
    """A group as a field of Settings: every default of it, its docstring as description."""
    return Field(default_factory=lambda: model(), description=model.__doc__)


class Settings(BaseSettings):
    """PigWeight configuration, one group per concern; unknown keys in `.env` are errors."""

    model_config = _CONFIG

    server: ServerSettings = _group(ServerSettings)
    limits: LimitSettings = _group(LimitSettings)
    vision: VisionSettings = _group(VisionSettings)
    cameras: CameraSettings = _group(CameraSettings)
    webrtc: WebRTCSettings = _group(WebRTCSettings)
    weighing: WeighingSettings = _group(WeighingSettings)
    archive: ArchiveSettings = _group(ArchiveSettings)
    teaching: TeachingSettings = _group(TeachingSettings)
    sites: SiteSettings = _group(SiteSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keywords, then the environment, then `.env` (first wins), each read flat and
        routed into the groups, so a group given whole in code wins over its variables."""
        assert isinstance(dotenv_settings, DotEnvSettingsSource)
        env = EnvSettingsSource(_FlatSettings)
        # The file as this instance was asked to read it (`_env_file=None`: none).
        dotenv = DotEnvSettingsSource(
            _FlatSettings,
            env_file=dotenv_settings.env_file,
            env_file_encoding=dotenv_settings.env_file_encoding,
        )
        return (
            _Grouped(settings_cls, init_settings),
            _Grouped(settings_cls, env, environment=True),
            _Grouped(settings_cls, dotenv, environment=True),
        )

    @model_validator(mode="before")
    @classmethod
    def _route_flat_names(cls, data: Any) -> Any:
        """`Settings.model_validate({"fps": 5})` too: flat names go into their groups."""
        return route_into_groups(data) if isinstance(data, dict) else data

    def public_dict(self) -> dict[str, Any]:
        """The effective settings by their flat names, every secret redacted, for printing."""
        out: dict[str, Any] = {}
        for name, group in FIELD_GROUP.items():
            value = getattr(getattr(self, group), name)
            if isinstance(value, SecretStr):
                value = _redact_secret(value.get_secret_value())
            elif isinstance(value, str) and "://" in value:
                value = redact_url(value)  # SCALE_URL: a login typed into it is hidden too
            elif isinstance(value, Path):
                value = str(value)
            elif isinstance(value, list) and all(isinstance(v, Path) for v in value):
                value = [str(v) for v in value]
            out[name] = value
        return out


GROUPS: dict[str, type[BaseModel]] = {
    name: field.annotation
    for name, field in Settings.model_fields.items()
    if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
}


class _FlatSettings(
    BaseSettings,
    ServerSettings,
    LimitSettings,
    VisionSettings,
    CameraSettings,
    WebRTCSettings,
    WeighingSettings,
    ArchiveSettings,
    TeachingSettings,
    SiteSettings,
):
    """Every field of every group under its flat name: what the environment sources read
    (never built: only its fields are used, so the sources parse each variable as its
    field asks, lists with NoDecode included)."""

    model_config = _CONFIG


# flat name -> the group it lives in, in the order of the groups ('fps' -> 'cameras').
FIELD_GROUP: dict[str, str] = {
    name: group for group, model in GROUPS.items() for name in model.model_fields
}


def route_into_groups(values: dict[str, Any]) -> dict[str, Any]:
    """Flat names moved into their group's dict; a group given whole keeps its values
    unless a flat name of it is given too. Unknown names stay, to be reported."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key in GROUPS and isinstance(value, BaseModel):
            value = dict(value)
        if key in GROUPS and isinstance(value, dict):
            out.setdefault(key, {}).update(value)
        elif key not in FIELD_GROUP:
            out[key] = value
    for key, value in values.items():
        group = FIELD_GROUP.get(key)
        if group is not None:
            out.setdefault(group, {})[key] = value
    return out


class _Grouped(PydanticBaseSettingsSource):
    """One of pydantic-settings' sources, its flat names routed into the groups."""

    def __init__(
        self,
        settings_cls: type[BaseSettings],
        source: PydanticBaseSettingsSource,
        environment: bool = False,
    ) -> None:
        super().__init__(settings_cls)
        self._source = source
        self._environment = environment

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads the wrapped source

    def __call__(self) -> dict[str, Any]:
        values = self._source()
        if self._environment:
            # `VISION=...` in .env is an unknown setting, not a group given whole.
            values = {k.upper() if k in GROUPS else k: v for k, v in values.items()}
        return route_into_groups(values)


class SettingsError(Exception):
    """Settings could not be loaded; the message names the variable and what to fix."""


def load_settings(**overrides: Any) -> Settings:
    """Build Settings, turning pydantic's report into one readable message per variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = _env_name(err["loc"])
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "unknown setting (check the spelling in .env)"
            lines.append(f"{name}: {msg}")
        raise SettingsError("invalid settings: " + "; ".join(lines)) from None


def _env_name(loc: tuple[int | str, ...]) -> str:
    """The variable an error is about: ('cameras', 'fps') -> 'FPS'; a check across a
    group's fields (its message names them) -> 'SETTINGS', as before the groups."""
    if loc and loc[0] in GROUPS:
        loc = loc[1:]
    return ".".join(str(p) for p in loc).upper() or "SETTINGS"


def _redact_secret(value: str) -> str:
    """A secret URL keeps its host for diagnosis; any other secret is `***` as a whole."""
    shown = redact_url(value)
    if "://" not in value or (shown == value and "@" in value):
        return MASK
    return shown
