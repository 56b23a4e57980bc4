"""docs/protocol.md's tables are generated from firmware/wire.py, and the shipped doc is current."""

from flutex.firmware import wire
from flutex.host.cli import main
from flutex.host.commands import protocol


def test_every_message_field_flag_and_code_has_a_meaning_and_no_meaning_is_left_over():
    assert set(protocol.MESSAGES) == set(wire.NAMES.values())
    assert {name: set(names) for name, names in protocol.FIELDS.items()} == {
        wire.NAMES[msg_type]: set(names) for msg_type, (_fmt, _tail, names) in wire.LAYOUTS.items() if names
    }
    assert set(protocol.FLAGS) == set(protocol.constants("FLAG_"))
    assert set(protocol.CODES) == set(protocol.constants("E_"))
    assert all(
        direction in (protocol.HOST_TO_BOARD, protocol.BOARD_TO_HOST) for direction, _ in protocol.MESSAGES.values()
    )


def test_the_shipped_doc_is_current(capsys):
    assert main(["protocol", "--check"]) == 0
    assert "matches" in capsys.readouterr().out


def test_check_fails_on_a_stale_doc_and_write_brings_it_up_to_date(tmp_path, capsys):
    doc = tmp_path / "protocol.md"
    stale = protocol.PROTOCOL_DOC_PATH.read_text().replace("| FLUTE | 8 | `mouth_pa` |", "| FLUTE | 8 | `mouth` |")
    doc.write_text(stale)
    assert main(["protocol", "--check", "--doc", str(doc)]) != 0
    assert "stale" in capsys.readouterr().err and doc.read_text() == stale, "--check writes nothing"
    assert main(["protocol", "--write", "--doc", str(doc)]) == 0
    assert doc.read_text() == protocol.PROTOCOL_DOC_PATH.read_text()
    assert main(["protocol", "--check", "--doc", str(doc)]) == 0


def test_a_doc_without_the_markers_is_named_not_overwritten(tmp_path, capsys):
    doc = tmp_path / "protocol.md"
    doc.write_text("# a protocol doc someone rewrote by hand\n")
    assert main(["protocol", "--write", "--doc", str(doc)]) != 0
    assert "marker" in capsys.readouterr().err
    assert doc.read_text() == "# a protocol doc someone rewrote by hand\n"


def test_printed_tables_list_every_message_type(capsys):
    assert main(["protocol"]) == 0
    out = capsys.readouterr().out
    assert all(f"| 0x{msg_type:02X} | {name} |" in out for msg_type, name in wire.NAMES.items())
