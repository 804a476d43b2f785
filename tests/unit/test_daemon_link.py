"""The daemon's link file, and the data directory the CLI looks for it in without `Settings`."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from timemachine.orchestration.daemon_link import LINK_FILE, DaemonLink, default_data_dir
from timemachine.settings import Settings


@pytest.mark.parametrize(
    "environ",
    [
        {"TIME_MACHINE_DATA_DIR": "/srv/tm", "XDG_DATA_HOME": "/xdg"},
        {"TIME_MACHINE_DATA_DIR": "~/tm-data"},
        {"XDG_DATA_HOME": "/xdg"},
        {},
    ],
)
def test_default_data_dir_is_the_settings_one(
    environ: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("TIME_MACHINE_DATA_DIR", "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert default_data_dir(environ) == Settings(_env_file=None).data_dir


def test_the_link_file_is_private_and_read_back(tmp_path: Path) -> None:
    link = DaemonLink(port=45123, token="t0k3n", pid=4242)
    link.write(tmp_path / "data")
    path = tmp_path / "data" / LINK_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert DaemonLink.read(tmp_path / "data") == link
    DaemonLink(port=1, token="other", pid=1).remove(tmp_path / "data")  # not its link: kept
    assert path.exists()
    link.remove(tmp_path / "data")
    assert DaemonLink.read(tmp_path / "data") is None


def test_a_damaged_link_file_means_no_daemon(tmp_path: Path) -> None:
    (tmp_path / LINK_FILE).write_text('{"port": "x"')
    assert DaemonLink.read(tmp_path) is None
