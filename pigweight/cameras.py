"""Which cameras PigWeight watches: a YAML file, the legacy CAM_URL, or the demo camera.

Passwords never live in the file: it names an environment variable (`password_env`) and
the URL with the password is built only when the source is opened (`CameraConfig.open_url`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, quote, urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pigweight.camera_policy import (
    CameraHostRefused,
    HostPolicy,
    camera_file_roots,
    url_host,
)
from pigweight.errors import PigWeightError
from pigweight.redact import redact_text, redact_url, secret_forms, url_password
from pigweight.settings import CameraSettings, SegmenterName, Settings
from pigweight.vision.zone import ZonePoints

LIVE_SCHEMES = ("rtsp", "rtsps")
LEGACY_CAMERA_ID = "cam"
DEMO_CAMERA_ID = "demo"
CameraKind = Literal["rtsp", "file", "demo"]


class CameraConfigError(PigWeightError):
    """The cameras file or CAM_URL is not usable; the message says which entry and why."""


class CameraConfig(BaseModel):
    """One camera; every override left empty falls back to the global setting."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$",
        description="Short id used in URLs (/api/cameras/{id}, ?id=): a-z, 0-9, '-', '_'.",
    )
    name: str = Field(default="", max_length=80, description="Name shown to the operator.")
    url: str = Field(
        description="rtsp:// or rtsps:// URL without a password, or a video file to replay."
    )
    username_env: str | None = Field(
        default=None,
        description="Environment variable holding the user name (overrides the URL's).",
    )
    password_env: str | None = Field(
        default=None, description="Environment variable holding the password; never written back."
    )
    enabled: bool = Field(
        default=True, description="Started at start-up when AUTO_START_CAM is on."
    )
    fps: float | None = Field(default=None, gt=0, le=240, description="Expected frame rate.")
    target_fps: float | None = Field(
        default=None, gt=0, le=240, description="Frames counted per second."
    )
    frame_skip: int | None = Field(
        default=None, ge=0, le=1000, description="Frames skipped between counts."
    )
    conf_threshold: float | None = Field(
        default=None, ge=0, le=1, description="Minimum confidence."
    )
    segmenter: SegmenterName | None = Field(default=None, description="Segmenter for this camera.")
    model: Path | None = Field(
        default=None,
        description="ONNX model for this camera (a pig model fine-tuned on its frames by "
        "`pigweight train`); relative to the cameras file. Empty: MODEL_PATH.",
    )
    kind: CameraKind = Field(
        default="rtsp", description="Set from the URL; 'demo' for the demo camera."
    )
    scale: str | None = Field(
        default=None,
        description="The platform's scale indicator, e.g. tcp://192.168.1.50:4001?protocol=toledo "
        "or serial:///dev/ttyUSB0?baud=9600&protocol=mtsics (docs/scales.md).",
    )
    zone: ZonePoints | None = Field(
        default=None,
        description="The platform's outline, [[x, y], ...] in 0-1 of the picture (x to the "
        "right, y down); animals whose centre lies outside are shown greyed and not counted. "
        "A zone drawn on the page overrides it.",
    )

    @field_validator("scale")
    @classmethod
    def _check_scale(cls, url: str | None) -> str | None:
        if url is None:
            return None
        from pigweight.weighing.scale_url import parse_scale_url

        parse_scale_url(url)  # its ValueError names what to fix
        return url

    @field_validator("url")
    @classmethod
    def _check_url(cls, url: str) -> str:
        return check_url(url)

    @field_validator("username_env", "password_env")
    @classmethod
    def _check_env_name(cls, name: str | None) -> str | None:
        if name is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"{name!r} is not an environment variable name")
        return name

    @property
    def display_name(self) -> str:
        """The name, or the id when none is given."""
        return self.name or self.id

    @property
    def public_url(self) -> str:
        """The URL with any password replaced by *** (for logs, API answers, pages)."""
        return redact_url(self.url)

    def open_url(self, environ: Mapping[str, str] | None = None) -> str:
        """The URL to open, with credentials from the environment; never log or return it."""
        env = os.environ if environ is None else environ
        if self.kind != "rtsp" or not (self.username_env or self.password_env):
            return self.url
        parts = urlsplit(self.url)
        user = env.get(self.username_env, "") if self.username_env else (parts.username or "")
        password = env.get(self.password_env, "") if self.password_env else ""
        netloc = parts.hostname or ""
        if parts.port is not None:
            netloc = f"{netloc}:{parts.port}"
        auth = quote(user, safe="")
        if password:
            auth = f"{auth}:{quote(password, safe='')}"
        if auth:
            netloc = f"{auth}@{netloc}"
        return parts._replace(netloc=netloc).geturl()

    def scrub(self, text: str, environ: Mapping[str, str] | None = None) -> str:
        """`text` with this camera's URL and password hidden (errors from libraries quote them)."""
        text = text.replace(self.open_url(environ), self.public_url)
        text = text.replace(self.url, self.public_url)
        for secret in self._secrets(environ):
            # Raw, encoded once or twice, decoded, any case of %2F; not a 1-2 letter form.
            forms = tuple(f for f in secret_forms(secret) if len(f) >= 3)
            text = redact_text(text, forms)
        return text

    def _secrets(self, environ: Mapping[str, str] | None) -> list[str]:
        env = os.environ if environ is None else environ
        found = [env.get(self.password_env, "")] if self.password_env else []
        inline = url_password(self.url)
        if inline:
            found.append(inline)
        return [s for s in found if s]


def check_url(url: str, allow_password: bool = False) -> str:
    """Refuse URLs FFmpeg could take as an option, other protocols, and inline passwords."""
    url = url.strip()
    if not url:
        raise ValueError("the URL is empty")
    if url.startswith("-"):
        raise ValueError("a URL must not start with '-' (it would be read as an option)")
    if any(ord(c) < 32 or c == " " for c in url):
        raise ValueError("the URL contains spaces or control characters; percent-encode them")
    if "://" not in url:
        return url  # a video file to replay
    parts = urlsplit(url)
    if parts.scheme.lower() not in LIVE_SCHEMES:
        raise ValueError(
            f"scheme {parts.scheme!r} is not allowed: use rtsp:// or rtsps:// "
            "(or the path of a video file)"
        )
    if not parts.hostname:
        raise ValueError("the URL has no host")
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key.startswith("-") or value.startswith("-"):
            raise ValueError("URL parameters must not start with '-'")
    if parts.password is not None and not allow_password:
        raise ValueError(
            "do not write the password into the URL; put it in an environment variable "
            "and name that variable in password_env"
        )
    return url


def _kind_of(url: str) -> CameraKind:
    return "rtsp" if "://" in url else "file"


def _with_kind(raw: dict[str, object], base_dir: Path | None) -> dict[str, object]:
    url = raw.get("url")
    if isinstance(url, str) and "kind" not in raw:
        raw = {**raw, "kind": _kind_of(url.strip())}
        if raw["kind"] == "file" and base_dir is not None and not Path(url).is_absolute():
            raw["url"] = str(base_dir / url)
    model = raw.get("model")
    if (
        isinstance(model, str)
        and base_dir is not None
        and not Path(model).expanduser().is_absolute()
    ):
        raw = {**raw, "model": str(base_dir / model)}
    return raw


def parse_cameras(
    text: str, source: str = "cameras file", base_dir: Path | None = None
) -> list[CameraConfig]:
    """Cameras from YAML text `{cameras: [...]}`; raises CameraConfigError naming the entry."""
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        # Not str(exc): it quotes the offending line, which may hold a URL with a password.
        raise CameraConfigError(f"{source}: not valid YAML ({_yaml_problem(exc)})") from None
    if not isinstance(data, dict) or set(data) - {"cameras"}:
        raise CameraConfigError(f"{source}: expected one key 'cameras' holding a list")
    entries = data.get("cameras") or []
    if not isinstance(entries, list):
        raise CameraConfigError(f"{source}: 'cameras' must be a list")
    cameras: list[CameraConfig] = []
    for i, raw in enumerate(entries):
        label = f"{source}: camera {i + 1}"
        if not isinstance(raw, dict):
            raise CameraConfigError(f"{label}: expected a mapping of id, url, ...")
        label = f"{source}: camera {raw.get('id', i + 1)!s}"
        try:
            cameras.append(CameraConfig.model_validate(_with_kind(raw, base_dir)))
        except ValidationError as exc:
            raise CameraConfigError(f"{label}: {_explain(exc)}") from None
    ids = [c.id for c in cameras]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise CameraConfigError(f"{source}: camera ids must be unique, repeated: {duplicates}")
    return cameras


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or type(exc).__name__
    if mark is None:
        return str(problem)
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"


def _explain(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "camera"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling)"
        lines.append(f"{where}: {msg}")
    return "; ".join(lines)


def load_cameras(settings: Settings) -> list[CameraConfig]:
    """Every configured camera: the YAML file, then CAM_URL, else the demo camera."""
    group = settings.cameras
    cameras: list[CameraConfig] = []
    if group.cameras_file is not None:
        path = Path(group.cameras_file)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CameraConfigError(
                f"CAMERAS_FILE {path}: cannot be read ({exc.strerror}); fix the path"
            ) from None
        cameras = parse_cameras(text, f"CAMERAS_FILE {path.name}", path.parent)
        _check_hosts(cameras, group, f"CAMERAS_FILE {path.name}: camera ")
    if group.cam_url is not None:
        legacy = _legacy_camera(group.cam_url.get_secret_value(), cameras)
        _check_hosts([legacy], group, "CAM_URL")
        cameras = [*cameras, legacy]
    if not cameras and group.demo_video_seconds > 0:
        cameras = [demo_camera(settings)]
    scale_url = settings.weighing.scale_url
    if scale_url and cameras:
        cameras[0] = _with_scale(cameras[0], scale_url)
    return cameras


def _check_hosts(cameras: list[CameraConfig], group: CameraSettings, source: str) -> None:
    """Refuse at start a camera URL naming a loopback, link-local or metadata host.

    No DNS here (a name is checked for what it points at before every connection, see
    pipeline/sources.py): an unreachable DNS server must not stop the program starting.
    """
    policy = HostPolicy.of(group)
    for camera in cameras:
        host = url_host(camera.url) if camera.kind == "rtsp" else None
        if host is None:
            continue
        try:
            policy.check(host, resolve_timeout_s=None)
        except CameraHostRefused as exc:
            label = f"{source}{camera.id}" if source.endswith(" ") else source
            raise CameraConfigError(f"{label}: {exc}") from None


def _with_scale(camera: CameraConfig, url: str) -> CameraConfig:
    """The single-camera set-up: SCALE_URL is the first camera's scale."""
    from pigweight.weighing.scale_url import parse_scale_url

    if camera.scale is not None:
        raise CameraConfigError(
            f"SCALE_URL: camera {camera.id} already has a scale in the cameras file; "
            "keep one of the two"
        )
    try:
        parse_scale_url(url)
    except ValueError as exc:
        raise CameraConfigError(f"SCALE_URL: {exc}") from None
    return camera.model_copy(update={"scale": url})


def _legacy_camera(url: str, others: list[CameraConfig]) -> CameraConfig:
    if any(c.id == LEGACY_CAMERA_ID for c in others):
        raise CameraConfigError(
            f"CAM_URL: the cameras file already has a camera with id '{LEGACY_CAMERA_ID}'"
        )
    try:
        # CAM_URL is the one place a password may sit in the URL (the legacy .env does it).
        check_url(url, allow_password=True)
    except ValueError as exc:
        raise CameraConfigError(f"CAM_URL: {exc}") from None
    return CameraConfig.model_construct(
        id=LEGACY_CAMERA_ID,
        name="",
        url=url.strip(),
        username_env=None,
        password_env=None,
        enabled=True,
        fps=None,
        target_fps=None,
        frame_skip=None,
        conf_threshold=None,
        segmenter=None,
        model=None,
        kind=_kind_of(url.strip()),
    )


def demo_camera(settings: Settings) -> CameraConfig:
    """The synthetic platform camera shown when nothing else is configured."""
    return CameraConfig(
        id=DEMO_CAMERA_ID,
        name="Demo",
        url=str(demo_video_path(settings.cameras, settings.server.data_dir)),
        kind="demo",
    )


def demo_video_path(cameras: CameraSettings, data_dir: Path) -> Path:
    """Where the demo clip for these settings is cached (rendered on first use)."""
    width = cameras.demo_video_width // 2 * 2
    height = round(width * 9 / 16 / 2) * 2
    seconds = f"{cameras.demo_video_seconds:g}"
    return Path(data_dir) / "demo" / f"demo_{width}x{height}_{seconds}s.mp4"


def check_submitted_url(url: str, settings: Settings) -> str:
    """A camera URL that came over HTTP, held to more than the admin's cameras file is.

    rtsp:// or rtsps:// to a host that is not local (names are resolved; CAMERA_ALLOW_HOSTS
    aside), or a video file inside MEDIA_ROOTS, DATA_DIR/videos or the demo clip's folder
    (the cameras file may name any file: its author already has the server's disk). Blocking
    (DNS, the disk): call it in a worker thread. Returns the URL to keep (a file: its real
    path); raises CameraConfigError, CameraHostRefused or PathRefused saying what to fix.
    """
    from pigweight.media.probe import VIDEO_SUFFIXES
    from pigweight.media.roots import PathRefused, resolve_under_roots

    try:
        url = check_url(url)
    except ValueError as exc:
        raise CameraConfigError(f"url: {exc}") from None
    if _kind_of(url) == "rtsp":
        HostPolicy.of(settings.cameras).check(url_host(url) or "")
        return url
    path = resolve_under_roots(url, camera_file_roots(settings))
    if not path.is_file() or path.suffix.lower() not in VIDEO_SUFFIXES:
        raise PathRefused(f"{url!r} is not a video file ({', '.join(sorted(VIDEO_SUFFIXES))})")
    return str(path)
