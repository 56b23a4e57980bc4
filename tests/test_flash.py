"""`flutex flash`: what goes on the board and how it is compiled. The copy itself needs a board on USB, so it is
not tested here; a port that does not exist must give a one-line error."""

import pytest

from flutex.firmware import FIRMWARE_DIR
from flutex.hardware import PINMAP_PATH, PROFILES_DIR, load_pinmap
from flutex.host.cli import main
from flutex.host.commands.flash import board_files, build, dry_run, flash, mpremote_command
from flutex.host.errors import FlutexError

ACTIVE_PROFILE = PROFILES_DIR / f"{load_pinmap()['profile']}.json"


def test_dry_run_lists_exactly_the_board_files(capsys):
    modules = sorted(p.stem for p in FIRMWARE_DIR.glob("*.py") if p.name not in ("__init__.py", "main.py"))
    expected = {f"{name}.mpy" for name in modules} | {"main.py", "pinmap.json", "profile.json"}
    assert main(["flash", "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    targets = [line.split("->")[1].split()[0] for line in lines]
    assert sorted(targets) == sorted(f":{name}" for name in expected)
    assert all(line.endswith(" bytes") and int(line.split()[-2]) > 0 for line in lines)
    assert {file.source for file in board_files()} == (
        set(FIRMWARE_DIR.glob("*.py")) - {FIRMWARE_DIR / "__init__.py"}
    ) | {PINMAP_PATH, ACTIVE_PROFILE}


def test_dry_run_sizes_are_the_built_files():
    sizes = {file.target: size for file, size in dry_run()}
    assert sizes["main.py"] == (FIRMWARE_DIR / "main.py").stat().st_size
    assert sizes["pinmap.json"] == PINMAP_PATH.stat().st_size
    assert sizes["profile.json"] == ACTIVE_PROFILE.stat().st_size


def test_build_compiles_to_valid_mpy_and_keeps_main_as_source(tmp_path):
    files = board_files()
    built = build(files, tmp_path)
    for file, path in zip(files, built, strict=True):
        assert path.name == file.target
        if file.compiled:
            assert path.read_bytes()[:1] == b"M", f"{path.name} is not a .mpy file"
        else:
            assert path.read_bytes() == file.source.read_bytes()


def test_flash_to_a_missing_port_is_a_one_line_error(tmp_path):
    with pytest.raises(FlutexError) as caught:
        flash(str(tmp_path / "no-such-port"))
    assert "\n" not in str(caught.value)
    assert "mpremote on" in str(caught.value)


def test_flash_needs_a_port_or_dry_run():
    with pytest.raises(SystemExit):
        main(["flash"])


def test_a_ble_board_gets_aioble_installed_and_a_usb_board_does_not(tmp_path):
    files = board_files()
    built = [tmp_path / file.target for file in files]
    assert "aioble" in mpremote_command("/dev/ttyACM0", files, built, ble=True)
    assert "mip" not in mpremote_command("/dev/ttyACM0", files, built)
