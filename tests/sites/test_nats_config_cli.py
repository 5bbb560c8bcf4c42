"""`pigweight sites nats-config`, as the operations walk-through runs it: the configs it
prints carry each site's own permissions and no password, and a missing site id is said;
with the TLS options, blocks nats-server itself accepts (`nats-server -t`)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from pigweight.cli import main
from tests.conftest import need_system
from tests.natsd import NATS_SERVER, installed
from tests.tlscerts import TestCA


def test_the_printed_configs_name_each_site_and_hold_no_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    monkeypatch.delenv("SITE_ID", raising=False)
    store = tmp_path / "js"
    assert (
        main(["sites", "nats-config", "--hub", "--sites", "barn1,barn2", "--store-dir", str(store)])
        == 0
    )
    hub = capsys.readouterr().out
    assert "domain: hub" in hub and f'store_dir: "{store}"' in hub
    assert "password: $PW_SITE_BARN1_PASSWORD" in hub and "password: $PW_CENTRAL_PASSWORD" in hub
    barn1 = next(line for line in hub.splitlines() if "user: barn1" in line)
    assert '"pw.site.barn1.>"' in barn1 and "barn2" not in barn1
    assert (
        main(["sites", "nats-config", "--leaf", "--site", "barn1", "--store-dir", str(store)]) == 0
    )
    leaf = capsys.readouterr().out
    assert "domain: barn1" in leaf and "url: $PW_HUB_URL" in leaf
    assert "password: $NATS_PASSWORD" in leaf
    # A leaf needs to know which site it is.
    assert main(["sites", "nats-config", "--leaf", "--store-dir", str(store)]) == 2
    assert "--leaf needs --site" in capsys.readouterr().err
    assert main(["sites", "nats-config", "--leaf", "--site", "Barn 1"]) == 2
    assert "site id" in capsys.readouterr().err


def test_tls_options_print_configs_nats_server_accepts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    need_system(installed(), "nats-server is not installed (Debian: apt-get install nats-server)")
    monkeypatch.chdir(tmp_path)
    ca = TestCA(tmp_path / "certs", "farm")
    hub_pair, barn1 = ca.server("hub"), ca.client("barn1")
    hub_tls = ["--tls-cert", str(hub_pair.cert), "--tls-key", str(hub_pair.key)]
    verify = ["--tls-ca", str(ca.cert), "--verify-clients"]
    hub_args = ["sites", "nats-config", "--hub", "--sites", "barn1", *hub_tls, *verify]
    assert main([*hub_args, "--store-dir", str(tmp_path / "hub-js")]) == 0
    hub = capsys.readouterr().out
    # the client port's block, and the leaf listener's: both check the clients' certificates
    assert hub.count(f'cert_file: "{hub_pair.cert}"') == 2 and hub.count("verify: true") == 2
    link = ["--hub-ca", str(ca.cert), "--link-cert", str(barn1.cert), "--link-key", str(barn1.key)]
    leaf_args = ["sites", "nats-config", "--leaf", "--site", "barn1", *link, *hub_tls]
    leaf_args += ["--host", "0.0.0.0"]  # its client port for a PigWeight on another PC
    assert main([*leaf_args, "--store-dir", str(tmp_path / "leaf-js")]) == 0
    leaf = capsys.readouterr().out
    remote = leaf[leaf.index("remotes") :]
    assert f'ca_file: "{ca.cert}"' in remote and f'key_file: "{barn1.key}"' in remote
    assert leaf.index(f'cert_file: "{hub_pair.cert}"') < leaf.index("remotes")  # local port
    assert 'listen: "0.0.0.0:4222"' in leaf
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PW_CENTRAL_PASSWORD": "x",
        "PW_SITE_BARN1_PASSWORD": "y",
        "NATS_USER": "barn1",
        "NATS_PASSWORD": "y",
        "PW_HUB_URL": "nats-leaf://barn1:y@127.0.0.1:7422",
    }
    for name, text in (("hub", hub), ("leaf", leaf)):
        (tmp_path / f"{name}.conf").write_text(text)
        checked = subprocess.run(
            [str(NATS_SERVER), "-t", "-c", str(tmp_path / f"{name}.conf")],
            env=env,
            capture_output=True,
            text=True,
            timeout=20,
        )
        assert checked.returncode == 0, (name, checked.stdout + checked.stderr)


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--hub", "--sites", "barn1", "--tls-cert", "c.pem"], "its certificate and its key"),
        (
            [
                "--hub",
                "--sites",
                "barn1",
                "--tls-cert",
                "c.pem",
                "--tls-key",
                "k.pem",
                "--verify-clients",
            ],
            "the CA that signs them",
        ),
        (["--hub", "--sites", "barn1", "--hub-ca", "ca.pem"], "are a leaf's"),
        (["--leaf", "--site", "barn1", "--link-cert", "c.pem"], "needs --hub-ca"),
        (["--leaf", "--site", "barn1", "--hub-ca", "missing.pem"], "no such file: missing.pem"),
    ],
)
def test_tls_options_that_cannot_work_are_said(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    said: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["sites", "nats-config", *args]) == 2
    assert said in capsys.readouterr().err
