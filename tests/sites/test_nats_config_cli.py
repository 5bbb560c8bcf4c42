"""`pigweight sites nats-config`, as the operations walk-through runs it: the configs it
prints carry each site's own permissions and no password, and a missing site id is said."""

from __future__ import annotations

from pathlib import Path

import pytest

from pigweight.cli import main


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
