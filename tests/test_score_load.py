"""Scores are read through music21 into our model: ties merged, rests kept, bars and beats as musicians count,
tempo, breath marks and phrases; every bad file ends in a ScoreError naming it, never a traceback."""

import zipfile

import pytest
from music21 import articulations, chord, meter, note, stream, tempo, tie

from flutex.host.cli import main
from flutex.tutor.score import load
from flutex.tutor.score.load import ScoreError, load_score

TUNE_ABC = """X:1
T:Pickup tune
C:Someone
M:3/4
L:1/4
Q:1/4=90
K:G
D | G A B- | B2 z | d c B |]
"""


def write(tmp_path, name, content):
    path = tmp_path / name
    (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
    return path


def melody(pitches_and_lengths, breath_after=(), bpm=None, time_signature="4/4"):
    """A one-part music21 score: (pitch or None for a rest, quarter notes); breath marks after the given indices."""
    part = stream.Part()
    part.append(meter.TimeSignature(time_signature))
    if bpm is not None:
        part.append(tempo.MetronomeMark(number=bpm))
    for i, (pitch, length) in enumerate(pitches_and_lengths):
        element = note.Rest(quarterLength=length) if pitch is None else note.Note(pitch, quarterLength=length)
        if i in breath_after:
            element.articulations.append(articulations.BreathMark())
        part.append(element)
    score = stream.Score()
    score.insert(0, part)
    return score


def shape(score):
    return [(n.midi, n.onset_beats, n.duration_beats, n.bar, n.beat) for n in score.notes]


def test_abc_pickup_tie_rest_bars_beats_and_tempo(tmp_path):
    score = load_score(write(tmp_path, "tune.abc", TUNE_ABC))
    assert (score.title, score.composer, score.key) == ("Pickup tune", "Someone", "G major")
    assert (score.beats_per_bar, score.beat_unit, score.tempos[0].bpm, score.warnings) == (3.0, 4, 90.0, ())
    d4, g4, a4, b4, c5, d5 = 62, 67, 69, 71, 72, 74
    assert shape(score) == [
        (d4, 0.0, 1.0, 0, 3.0),  # the pickup is bar 0, on the bar's last beat
        (g4, 1.0, 1.0, 1, 1.0),
        (a4, 2.0, 1.0, 1, 2.0),
        (b4, 3.0, 3.0, 1, 3.0),  # B tied over the bar line: one note of three beats
        (None, 6.0, 1.0, 2, 3.0),
        (d5, 7.0, 1.0, 3, 1.0),
        (c5, 8.0, 1.0, 3, 2.0),
        (b4, 9.0, 1.0, 3, 3.0),
    ]
    assert score.seconds(9.0) == pytest.approx(9.0 * 60 / 90)


def test_no_tempo_assumes_100_bpm_and_says_so(tmp_path):
    score = load_score(write(tmp_path, "plain.abc", TUNE_ABC.replace("Q:1/4=90\n", "")))
    assert score.tempos[0].bpm == load.DEFAULT_BPM
    assert any("no tempo" in warning for warning in score.warnings)


def test_musicxml_breath_marks_tempo_changes_and_segments(tmp_path):
    notes = [("C5", 1)] * 8 + [("D5", 1)] * 8
    source = melody(notes, breath_after={5}, bpm=120)
    source.parts[0].insert(8.0, tempo.MetronomeMark(number=60))
    path = tmp_path / "breath.musicxml"
    source.write("musicxml", fp=path)
    score = load_score(path)
    assert [n.index for n in score.notes if n.breath_before] == [6]
    assert [n.segment for n in score.notes] == [0] * 6 + [1] * 10
    assert [(s.first_bar, s.last_bar) for s in score.segments] == [(1, 2), (2, 4)]
    assert [(t.beat, t.bpm) for t in score.tempos] == [(0.0, 120.0), (8.0, 60.0)]
    assert score.onset_s(score.notes[10]) == pytest.approx(8 * 0.5 + 2 * 1.0)


def test_compressed_musicxml_reads_like_the_plain_file(tmp_path):
    source = melody([("E5", 1), ("F5", 2), (None, 1), ("G5", 4)], bpm=80)
    source.write("musicxml", fp=tmp_path / "plain.musicxml")
    source.write("mxl", fp=tmp_path / "packed.mxl")
    assert shape(load_score(tmp_path / "packed.mxl")) == shape(load_score(tmp_path / "plain.musicxml"))


def test_midi_ties_are_merged_and_split_rests_joined(tmp_path):
    source = melody([("A4", 3), ("B4", 3), (None, 2), (None, 4), ("C5", 4)], bpm=72)
    path = tmp_path / "tune.mid"
    source.write("midi", fp=path)  # MIDI has no ties: B4 crossing the bar line comes back as two tied notes
    score = load_score(path)
    assert [(n.midi, n.onset_beats, n.duration_beats) for n in score.notes] == [
        (69, 0.0, 3.0),
        (71, 3.0, 3.0),
        (None, 6.0, 6.0),
        (72, 12.0, 4.0),
    ]
    assert score.tempos[0].bpm == pytest.approx(72.0)
    assert score.notes[1].bar == 1 and score.notes[3].bar == 4


def test_phrases_come_from_long_rests_else_every_four_bars(tmp_path):
    with_rest = melody([("C5", 4), ("D5", 2), (None, 2), ("E5", 4)])
    with_rest.write("musicxml", fp=tmp_path / "rest.musicxml")
    score = load_score(tmp_path / "rest.musicxml")
    assert [(n.midi, n.segment, n.breath_before) for n in score.notes] == [
        (72, 0, False),
        (74, 0, False),
        (None, 0, False),
        (76, 1, True),
    ]
    plain = melody([("C5", 4)] * 9)
    plain.write("musicxml", fp=tmp_path / "plain.musicxml")
    assert [n.segment for n in load_score(tmp_path / "plain.musicxml").notes] == [0] * 4 + [1] * 4 + [2]


def two_parts():
    score = stream.Score()
    for name, pitch in (("Flute", "C5"), ("Oboe", "G5")):
        part = stream.Part()
        part.partName = name
        part.append(note.Note(pitch, quarterLength=4))
        score.insert(0, part)
    return score


def test_several_parts_need_a_part_number(tmp_path):
    path = tmp_path / "duet.musicxml"
    two_parts().write("musicxml", fp=path)
    with pytest.raises(ScoreError, match=r"duet\.musicxml has 2 parts \(1: Flute, 2: Oboe\); choose one with --part"):
        load_score(path)
    assert load_score(path, part=2).notes[0].midi == 79
    with pytest.raises(ScoreError, match="no part 3"):
        load_score(path, part=3)


def test_chords_are_read_as_their_top_note(tmp_path):
    source = melody([("C5", 4)])
    source.parts[0].append(chord.Chord(["E4", "G5", "C5"], quarterLength=4))
    path = tmp_path / "chords.musicxml"
    source.write("musicxml", fp=path)
    score = load_score(path)
    assert [n.midi for n in score.notes] == [72, 79]
    assert any("chords in bars 2" in warning for warning in score.warnings)


def test_a_breath_mark_on_the_end_of_a_tie_stays_with_the_merged_note(tmp_path):
    source = melody([("C5", 4), ("C5", 4), ("D5", 4)])
    first, second, _ = source.parts[0].recurse().notes
    first.tie, second.tie = tie.Tie("start"), tie.Tie("stop")
    second.articulations.append(articulations.BreathMark())
    path = tmp_path / "tied.musicxml"
    source.write("musicxml", fp=path)
    score = load_score(path)
    assert [(n.midi, n.duration_beats, n.breath_before) for n in score.notes] == [(72, 8.0, False), (74, 4.0, True)]


def deep_xml(depth):
    return "<?xml version='1.0'?><score-partwise>" + "<a>" * depth + "</a>" * depth + "</score-partwise>"


def truncated_midi(tmp_path):
    melody([("C5", 1)] * 8, bpm=90).write("midi", fp=tmp_path / "whole.mid")
    return (tmp_path / "whole.mid").read_bytes()[:30]


BAD_FILES = {
    "unknown extension": ("tune.txt", "C D E", "unknown kind of score"),
    "binary garbage": ("tune.abc", bytes(range(256)) * 4, "not UTF-8"),
    "UTF-16 text": ("tune.abc", TUNE_ABC.encode("utf-16"), "not UTF-8"),
    "latin-1 text": ("tune.abc", TUNE_ABC.replace("Someone", "Séverine").encode("latin-1"), "not UTF-8"),
    "UTF-16 MusicXML": ("tune.musicxml", "<?xml version='1.0' encoding='UTF-16'?><a/>".encode("utf-16"), "UTF-8"),
    "truncated XML": ("tune.musicxml", "<?xml version='1.0'?><score-partwise><part", "malformed or truncated XML"),
    "deeply nested XML": ("deep.xml", deep_xml(100_000), "nested deeper than"),
    "not a zip": ("tune.mxl", b"PK\x03\x04 not really a zip", "damaged or truncated zip"),
    "not a MIDI file": ("tune.mid", b"MThd garbage", "cannot read this midi file"),
    "an empty part": ("empty.abc", "X:1\nT:Empty\nL:1/4\nK:C\nz4 |]\n", "has no notes"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_files_are_refused_with_the_file_named(tmp_path, case):
    name, content, message = BAD_FILES[case]
    path = write(tmp_path, name, content)
    with pytest.raises(ScoreError, match=message) as refused:
        load_score(path)
    assert name in str(refused.value)


def test_a_truncated_midi_file_is_refused(tmp_path):
    path = write(tmp_path, "cut.mid", truncated_midi(tmp_path))
    with pytest.raises(ScoreError, match=r"cut\.mid"):
        load_score(path)


def test_a_zip_bomb_is_refused_before_unpacking(tmp_path, monkeypatch):
    monkeypatch.setattr(load, "MAX_UNPACKED_BYTES", 1000)
    path = tmp_path / "bomb.mxl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("score.xml", " " * 10_000)
    with pytest.raises(ScoreError, match="unpacks to more than"):
        load_score(path)


def test_missing_and_huge_files_are_refused(tmp_path):
    with pytest.raises(ScoreError, match=r"nowhere\.abc: no such file"):
        load_score(tmp_path / "nowhere.abc")
    huge = write(tmp_path, "huge.abc", TUNE_ABC + "%" * load.MAX_BYTES)
    with pytest.raises(ScoreError, match="too big"):
        load_score(huge)


def test_too_many_notes_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(load, "MAX_NOTES", 20)
    with pytest.raises(ScoreError, match="more than 20 notes"):
        load_score(write(tmp_path, "long.abc", "X:1\nT:Long\nL:1/4\nK:C\n" + "C D E F | " * 6 + "\n"))


def test_a_note_outside_the_midi_range_names_its_bar(tmp_path):
    path = tmp_path / "high.musicxml"
    melody([("C5", 4), ("D5", 4), ("C10", 4)]).write("musicxml", fp=path)
    with pytest.raises(ScoreError, match=r"high\.musicxml, bar 3: C10 is outside the MIDI range"):
        load_score(path)


def test_the_command_line_reports_a_bad_score_without_a_traceback(tmp_path, capsys):
    path = write(tmp_path, "garbage.abc", bytes(range(256)))
    assert main(["score", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("flutex: error:") and "garbage.abc" in err and "Traceback" not in err
