"""The wire protocol in CPython: round trips, corruption, resynchronisation, and the shared test vectors."""

import json
import struct
import zlib
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
    fmt, tail_kind, _names = wire.LAYOUTS[msg_type]
    fields = [draw(st.integers(*_RANGES[code])) for code in fmt[1:]]
    if msg_type in wire.BOOLEANS:
        fields[wire.BOOLEANS[msg_type]] = draw(st.integers(0, 1))
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


@pytest.mark.parametrize("msg_type", sorted(wire.LAYOUTS), ids=lambda t: wire.NAMES[t])
def test_every_layout_names_each_value_it_parses(msg_type):
    fmt, tail_kind, names = wire.LAYOUTS[msg_type]
    codes = fmt[1:]  # one letter per fixed field (no repeat counts in the layouts)
    assert len(names) == len(codes) + (tail_kind != wire.TAIL_NONE)
    assert len(set(names)) == len(names) and all(name.isidentifier() for name in names)


@given(messages())
def test_decode_names_the_fields_and_ordered_puts_them_back(message):
    msg_type, seq, fields, tail = message
    _msg_type, _seq, payload = wire.decode_frame(wire.encode(msg_type, seq, fields, tail)[:-1])
    named = wire.decode(msg_type, payload)
    assert list(named) == list(wire.LAYOUTS[msg_type][2])
    assert tuple(named.values()) == _expected(fields, tail)
    assert wire.ordered(msg_type, named) == fields


@given(st.binary(max_size=600))
def test_arbitrary_bytes_are_never_taken_for_a_frame(data):
    """Random bytes fail the CRC (or the framing) with only WireError: 2**-32 of them could pass, never more."""
    with pytest.raises(wire.WireError):
        wire.decode_frame(data)


def _framed(msg_type, seq, payload):
    """A frame with a correct CRC around any payload: what a buggy or hostile peer can send."""
    body = struct.pack(wire.HEADER, msg_type, seq) + payload
    return wire.cobs_encode(body + struct.pack("<I", zlib.crc32(body)))


@given(st.integers(0, 255), st.integers(0, 0xFFFF), st.binary(max_size=260))
def test_every_payload_parser_takes_any_bytes(msg_type, seq, payload):
    """The fuzz of every payload parser: a correctly framed body is accepted up to MAX_BODY and no further; its
    payload parses or raises WireError; whatever parses encodes back to the very same bytes (text aside, where
    bytes that are not UTF-8 read as '?')."""
    encoded = _framed(msg_type, seq, payload)
    if len(payload) + wire.HEADER_SIZE + wire.CRC_SIZE > wire.MAX_BODY:
        with pytest.raises(wire.WireError):
            wire.decode_frame(encoded)
        return
    assert wire.decode_frame(encoded) == (msg_type, seq, payload)
    try:
        fields = wire.parse(msg_type, payload)
    except wire.WireError:
        return
    tail_kind = wire.LAYOUTS[msg_type][1]
    fixed, tail = (fields[:-1], fields[-1]) if tail_kind != wire.TAIL_NONE else (fields, None)
    if tail_kind == wire.TAIL_TEXT and tail.encode() != payload[struct.calcsize(wire.LAYOUTS[msg_type][0]) :]:
        assert "?" in tail
        return
    assert wire.encode(msg_type, seq, fixed, tail) == encoded + wire.DELIMITER


def test_a_body_one_byte_over_the_maximum_is_refused():
    payload = bytes(wire.MAX_BODY - wire.HEADER_SIZE - wire.CRC_SIZE + 1)
    encoded = _framed(wire.ERROR, 0, payload)
    assert len(encoded) <= wire.MAX_ENCODED, "it fits the encoded limit: only the body check catches it"
    with pytest.raises(wire.WireError, match="too long"):
        wire.decode_frame(encoded)


@pytest.mark.parametrize("msg_type", sorted(wire.BOOLEANS))
def test_a_yes_no_field_takes_only_0_or_1(msg_type):
    assert wire.parse(msg_type, bytes([1])) == (1,)
    for value in (2, 7, 200, 255):
        with pytest.raises(wire.WireError, match="not 0 or 1"):
            wire.parse(msg_type, bytes([value]))


def test_a_reason_that_is_not_utf8_still_parses_so_its_command_is_answered():
    payload = struct.pack("<BHB", wire.SERVO, 9, wire.E_LIMIT) + b"servo \xff\xfe out"
    assert wire.parse(wire.ERROR, payload) == (wire.SERVO, 9, wire.E_LIMIT, "servo ?? out")


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
