"""The wire protocol in CPython: round trips, corruption, resynchronisation, and the shared test vectors."""

import json
import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flutex.firmware import wire

VECTORS = json.loads((Path(__file__).parent / "vectors" / "wire.json").read_text())

_RANGES = {"B": (0, 0xFF), "H": (0, 0xFFFF), "I": (0, 0xFFFFFFFF), "h": (-32768, 32767)}


@st.composite
def messages(draw):
    """Any message type with arbitrary field values that fit its layout and the maximum frame size."""
    msg_type = draw(st.sampled_from(sorted(wire.LAYOUTS)))
    fmt, tail_kind = wire.LAYOUTS[msg_type]
    fields = [draw(st.integers(*_RANGES[code])) for code in fmt[1:]]
    room = (wire.MAX_BODY - wire.HEADER_SIZE - wire.CRC_SIZE - struct.calcsize(fmt)) // 2
    tail = None
    if tail_kind == wire.TAIL_I16:
        tail = draw(st.lists(st.integers(-32768, 32767), max_size=min(room, 255)))
        fields[-1] = len(tail)
    elif tail_kind == wire.TAIL_TEXT:
        tail = draw(st.text(max_size=room // 2))
    return msg_type, draw(st.integers(0, 0xFFFF)), tuple(fields), tail


def _expected(fields, tail):
    return fields + ((tuple(tail) if isinstance(tail, list) else tail,) if tail is not None else ())


@given(messages())
def test_every_message_round_trips(message):
    msg_type, seq, fields, tail = message
    frame = wire.encode(msg_type, seq, fields, tail)
    assert frame.endswith(wire.DELIMITER) and frame.count(0) == 1
    got_type, got_seq, payload = wire.decode_frame(frame[:-1])
    assert (got_type, got_seq) == (msg_type, seq)
    assert wire.parse(got_type, payload) == _expected(fields, tail)


@given(st.binary(max_size=600))
def test_decoding_arbitrary_bytes_raises_only_wire_error(data):
    try:
        msg_type, _seq, payload = wire.decode_frame(data)
        wire.parse(msg_type, payload)
    except wire.WireError:
        pass


@given(st.binary(max_size=600), messages())
def test_stream_decoder_never_raises_and_resynchronises(garbage, message):
    msg_type, seq, fields, tail = message
    decoder = wire.StreamDecoder()
    decoder.feed(garbage)
    frames = decoder.feed(wire.DELIMITER + wire.encode(msg_type, seq, fields, tail))
    assert frames[-1][:2] == (msg_type, seq)
    assert wire.parse(msg_type, frames[-1][2]) == _expected(fields, tail)


@given(messages(), st.data())
def test_every_single_byte_corruption_is_rejected(message, data):
    frame = bytearray(wire.encode(*message)[:-1])
    index = data.draw(st.integers(0, len(frame) - 1))
    frame[index] ^= data.draw(st.integers(1, 255))
    decoder = wire.StreamDecoder()
    assert decoder.feed(bytes(frame) + wire.DELIMITER) == []
    assert decoder.crc_errors + decoder.framing_errors >= 1  # a byte turned into 0x00 splits it in two


@given(st.binary(max_size=1000))
def test_cobs_round_trips_and_never_emits_zero(raw):
    encoded = wire.cobs_encode(raw)
    assert 0 not in encoded
    assert wire.cobs_decode(encoded) == raw


def test_split_delivery_and_oversize_junk():
    frame = wire.encode(wire.FLUTE, 5, (1, 2, 3))
    decoder = wire.StreamDecoder()
    assert [decoder.feed(frame[i : i + 1]) for i in range(len(frame))][-1] == [wire.decode_frame(frame[:-1])]
    assert decoder.feed(b"\x01" * (wire.MAX_ENCODED * 3)) == []
    assert decoder.feed(frame) == [], "the tail of an oversize run is not a frame"
    assert decoder.feed(frame) == [wire.decode_frame(frame[:-1])]
    assert decoder.framing_errors == 1


def test_refuses_messages_it_cannot_carry():
    with pytest.raises(wire.WireError):
        wire.encode(wire.STATUS, 0, (0, 0, 200), [1] * 200)
    with pytest.raises(wire.WireError):
        wire.parse(0x7F, b"")
    with pytest.raises(wire.WireError):
        wire.parse(wire.SERVO, bytes([3, 1, 0]))  # says 3 targets, carries half of one


@pytest.mark.parametrize("vector", VECTORS["frames"], ids=lambda v: wire.NAMES[v["type"]])
def test_cpython_matches_vectors(vector):
    assert wire.encode(vector["type"], vector["seq"], vector["fields"], vector["tail"]).hex() == vector["frame"]


def test_cpython_matches_cobs_vectors():
    for vector in VECTORS["cobs"]:
        assert wire.cobs_encode(bytes.fromhex(vector["raw"])).hex() == vector["encoded"]
