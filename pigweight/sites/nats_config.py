"""nats-server configurations for the hub and a site's leaf node: the ones the tests run.

No secret is written into them: nats-server reads `$NAME` references from its environment
(`PW_HUB_URL` holds the site's leaf URL with its password; `PW_SITE_<SITE>_PASSWORD` and
`PW_CENTRAL_PASSWORD` the hub's users), so the files may be kept in version control.
TLS (`TlsFiles`) names certificate files; their keys stay in the files, never in the config.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pigweight.sites.wire import check_site, site_prefix

HUB_DOMAIN = "hub"
CENTRAL_USER = "central"
# nats-server's TLS handshake limit (its default is 2 s): a site's link may cross a slow
# mobile or satellite line, where a handshake of a few round trips takes seconds.
TLS_TIMEOUT_S = 5


@dataclass(frozen=True)
class TlsFiles:
    """PEM files of one side of a TLS connection: `cert`/`key` the certificate it presents,
    `ca` what it checks the other side's with; `verify`: a listener that asks every client
    for a certificate signed by `ca` (mutual TLS)."""

    cert: Path | None = None
    key: Path | None = None
    ca: Path | None = None
    verify: bool = False

    def problem(self) -> str | None:
        """What cannot work in these files for a listener (None: nothing)."""
        if self.cert is None or self.key is None:
            return "a TLS listener needs its certificate and its key"
        if self.verify and self.ca is None:
            return "checking clients' certificates needs the CA that signs them"
        return None


def tls_block(files: TlsFiles, indent: str = "") -> str:
    """A nats-server `tls { ... }` block (lines indented by `indent`)."""
    named = (("cert_file", files.cert), ("key_file", files.key), ("ca_file", files.ca))
    lines = [f"{name}: {_quoted(path)}" for name, path in named if path is not None]
    lines += ["verify: true"] if files.verify else []
    lines.append(f"timeout: {TLS_TIMEOUT_S}")
    body = "".join(f"{indent}  {line}\n" for line in lines)
    return f"{indent}tls {{\n{body}{indent}}}\n"


def _quoted(path: Path) -> str:
    text = str(path.absolute())  # nats-server reads paths from its own working directory
    if any(c in text for c in '"\\\n$'):
        raise ValueError(f"a certificate path nats-server cannot read: {text!r}")
    return f'"{text}"'


def site_password_variable(site: str) -> str:
    """The hub's environment variable holding a site's leaf password."""
    return f"PW_SITE_{check_site(site).upper().replace('-', '_')}_PASSWORD"


def site_stream(site: str) -> str:
    """The JetStream stream a site keeps on its own nats-server."""
    return f"PW_SITE_{check_site(site)}"


def deliver_prefix(site: str) -> str:
    """Where the hub's sourcing of a site's stream has the site deliver: under the site's own
    prefix, so that no other site may publish into it."""
    return f"pw.deliver.{check_site(site)}"


def site_permissions(site: str) -> str:
    """What a site's leaf connection may send into the hub and take from it.

    Publish: its own subjects, the deliveries of the sourcing the hub runs on its stream
    (under `pw.deliver.<site>`) and the answers to the hub's JetStream API calls (`$JSC.R`,
    the sourcing's reply subjects, made at random by the hub). Subscribe: the JetStream API of
    its own domain (the sourcing calls it) and the flow-control replies to its own stream's
    deliveries (`$JS.FC.<stream>.<consumer>.<n>`: the stream's name carries the site id).
    Nothing of another site, nor the hub's own JetStream API otherwise.
    Models from the central (sites/models.py): it may read the last message of its own
    `PW_TO_<site>` and the chunks of `PW_MODELS` on the hub (two STREAM.MSG.GET subjects of
    the hub's API, nothing else of it), report on `pw.model.<site>.status`, send its labelled
    frames on `pw.labels.<site>.frame.*` (into the hub's `PW_LABELS_<site>`), and take replies
    only on its own inbox prefix `_INBOX_<site>`.
    """
    site = check_site(site)
    hub_api = f"$JS.{HUB_DOMAIN}.API.STREAM.MSG.GET"
    publish = [
        f"{site_prefix(site)}.>",
        f"{deliver_prefix(site)}.>",
        "$JSC.R.>",
        f"{hub_api}.PW_TO_{site}",
        f"{hub_api}.OBJ_PW_MODELS",
        f"pw.model.{site}.status",
        f"pw.labels.{site}.frame.*",
    ]
    subscribe = [f"$JS.{site}.API.>", f"$JS.FC.{site_stream(site)}.>", f"_INBOX_{site}.>"]
    return (
        f"{{ publish: {{ allow: {_list(publish)} }}, subscribe: {{ allow: {_list(subscribe)} }} }}"
    )


@dataclass(frozen=True)
class HubPorts:
    client: int = 4222
    leafnodes: int = 7422
    monitor: int = 8222


def hub_config(
    sites: Sequence[str],
    store_dir: Path,
    ports: HubPorts = HubPorts(),
    host: str = "0.0.0.0",
    tls: TlsFiles | None = None,
) -> str:
    """The central nats-server: JetStream domain `hub`, the central's client user, and one
    leaf user per site, each allowed only its own subjects. `tls`: its client port and its
    leaf node listener take TLS only, with these files."""
    leaf_users = "\n".join(
        f"    {{ user: {check_site(s)}, password: ${site_password_variable(s)}, "
        f"permissions: {site_permissions(s)} }}"
        for s in sites
    )
    client_tls = "" if tls is None else tls_block(tls)
    leaf_tls = "" if tls is None else tls_block(tls, "  ")
    return f"""# PigWeight hub (central): generated by `pigweight sites nats-config --hub`
server_name: pigweight-hub
listen: "{host}:{ports.client}"
{client_tls}http: "127.0.0.1:{ports.monitor}"
jetstream {{
  domain: {HUB_DOMAIN}
  store_dir: "{store_dir}"
}}
# Clients and leaf nodes log in against these users (the leafnodes block has none of its
# own, so a site's leaf connection gets its user's permissions).
authorization {{
  users: [
    {{ user: {CENTRAL_USER}, password: $PW_CENTRAL_PASSWORD }}
{leaf_users}
  ]
}}
leafnodes {{
  listen: "{host}:{ports.leafnodes}"
{leaf_tls}}}
"""


def leaf_config(
    site: str,
    store_dir: Path,
    client_port: int = 4222,
    monitor_port: int = 8222,
    host: str = "127.0.0.1",
    link_tls: TlsFiles | None = None,
    tls: TlsFiles | None = None,
) -> str:
    """A site's nats-server: its own JetStream domain (the site id) that keeps the site's
    stream while the link is down, and a leaf connection to the hub ($PW_HUB_URL, e.g.
    nats-leaf://barn1:PASSWORD@hub.example:7422). Local clients log in as the site's user
    ($NATS_USER, $NATS_PASSWORD: the settings PigWeight itself connects with).
    `link_tls`: the link to the hub over TLS (`ca` checks the hub's certificate; `cert`/`key`
    when the hub asks for one); `tls`: the local client port takes TLS only."""
    check_site(site)
    client_tls = "" if tls is None else tls_block(tls)
    remote_tls = "" if link_tls is None else tls_block(link_tls, "      ")
    return f"""# PigWeight site {site}: generated by `pigweight sites nats-config --leaf`
server_name: pigweight-{site}
listen: "{host}:{client_port}"
{client_tls}http: "127.0.0.1:{monitor_port}"
jetstream {{
  domain: {site}
  store_dir: "{store_dir}"
}}
authorization {{
  user: $NATS_USER
  password: $NATS_PASSWORD
}}
leafnodes {{
  reconnect: 1
  remotes: [
    {{ url: $PW_HUB_URL
{remote_tls}    }}
  ]
}}
"""


def _list(subjects: Sequence[str]) -> str:
    return "[" + ", ".join(f'"{s}"' for s in subjects) + "]"
