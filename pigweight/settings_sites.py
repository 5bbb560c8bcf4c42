"""The settings group of sites and the central service (issue 21), beside the others in
settings_groups.py: `settings.Settings` holds it as `sites`, read flat like the rest."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator

from pigweight.settings_groups import CommaList, _blank_is_none, _Group

_SITE_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


def _site_id(value: str) -> str:
    if not _SITE_ID.fullmatch(value):
        raise ValueError(
            f"site id {value[:40]!r}: use 1-32 of a-z, 0-9, '_' and '-', starting with a "
            "letter or digit"
        )
    return value


class SiteSettings(_Group):
    """Sites and the central service over NATS JetStream (docs/operations.md, "Sites")."""

    site_id: str | None = Field(
        None,
        description="This PigWeight is the site with this id (e.g. 'barn1'; also its "
        "nats-server's JetStream domain): every weighing, batch, camera state and a "
        "downsampled count series go to the central service through NATS_URL. "
        "Empty: no site, nothing is sent (the default).",
    )
    central: bool = Field(
        False,
        description="This PigWeight is the central service: it takes what the sites of "
        "CENTRAL_SITES send (`pigweight serve --central` sets it).",
    )
    central_sites: CommaList = Field(
        default_factory=list,
        description="The site ids the central service takes, comma-separated.",
    )
    nats_url: str = Field(
        "nats://127.0.0.1:4222",
        description="The NATS server: a site's own local nats-server (a leaf node of the hub), "
        "or the hub for the central service. tls:// for TLS. No user or password in it.",
    )
    nats_monitor_url: str = Field(
        "http://127.0.0.1:8222",
        description="At a site: its nats-server's monitoring address (`http:` in the leaf "
        "config), read for whether the link to the hub is up (the page's header).",
    )
    nats_user: str | None = Field(None, description="User name on the NATS server.")
    nats_password: SecretStr | None = Field(
        None, description="Password of NATS_USER; never printed or logged."
    )
    nats_tls_ca: Path | None = Field(
        None, description="CA certificate file the NATS server's certificate is checked with."
    )
    nats_tls_cert: Path | None = Field(
        None, description="Client certificate file, when the NATS server asks for one (mTLS)."
    )
    nats_tls_key: Path | None = Field(None, description="The key of NATS_TLS_CERT.")

    @field_validator("site_id", "nats_user", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return _blank_is_none(value)

    @field_validator("nats_password", mode="before")
    @classmethod
    def _blank_secret(cls, value: Any) -> Any:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        return None if isinstance(text, str) and not text.strip() else value

    @field_validator("site_id")
    @classmethod
    def _check_site_id(cls, value: str | None) -> str | None:
        return None if value is None else _site_id(value)

    @field_validator("central_sites")
    @classmethod
    def _check_central_sites(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(_site_id(v) for v in value))

    @field_validator("nats_monitor_url")
    @classmethod
    def _check_monitor_url(cls, value: str) -> str:
        if not value.strip().startswith(("http://", "https://")):
            raise ValueError("use http://HOST:PORT (the nats-server's `http:` address)")
        return value.strip()

    @field_validator("nats_url")
    @classmethod
    def _check_nats_url(cls, value: str) -> str:
        scheme, found, rest = value.strip().partition("://")
        if not found or scheme not in ("nats", "tls") or not rest:
            raise ValueError("use nats://HOST:PORT or tls://HOST:PORT")
        if "@" in rest.split("/")[0]:  # never quoted: it holds a password
            raise ValueError("put the user and password in NATS_USER and NATS_PASSWORD")
        return value.strip()

    def conflict(self) -> str | None:
        """What in these settings cannot work together (checked when a service starts, so
        that each variable can still be set and tested alone)."""
        if self.site_id and self.central:
            return "SITE_ID and CENTRAL: a PigWeight is a site or the central service, not both"
        if (self.nats_tls_cert is None) != (self.nats_tls_key is None):
            return "NATS_TLS_CERT and NATS_TLS_KEY go together"
        if self.central and not self.central_sites:
            return "CENTRAL needs CENTRAL_SITES: the site ids to take"
        return None
