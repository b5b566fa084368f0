"""The SSE parser on tricky input: split chunks, line endings, comments, multi-line data."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from stepwork._client.sse import ServerSentEvent, SSEParser


def parse(*chunks: bytes) -> tuple[list[ServerSentEvent], SSEParser]:
    parser = SSEParser()
    events = [event for chunk in chunks for event in parser.feed(chunk)]
    return events, parser


def bytewise(data: bytes) -> list[ServerSentEvent]:
    return parse(*(data[i : i + 1] for i in range(len(data))))[0]


def test_a_frame_of_the_contract() -> None:
    frame = b'id: 3\nevent: Question\ndata: {"offset": 3}\n\n'
    events, _ = parse(frame)
    assert events == [ServerSentEvent(event="Question", data='{"offset": 3}', id="3")]


def test_multi_line_data_is_joined_with_newlines() -> None:
    events, _ = parse(b"data: first\ndata:second\ndata\ndata:  two spaces\n\n")
    assert events[0].data == "first\nsecond\n\n two spaces"
    assert events[0].event == "message"


def test_comments_are_counted_and_never_dispatched() -> None:
    events, parser = parse(b": heartbeat\n\n: heartbeat\n\n:\n\n")
    assert events == []
    assert parser.comments == 3


def test_an_event_without_data_is_not_dispatched_and_does_not_leak() -> None:
    events, _ = parse(b"event: Lonely\nid: 1\n\ndata: x\n\n")
    assert events == [ServerSentEvent(event="message", data="x", id="1")]


def test_crlf_cr_and_lf_line_endings() -> None:
    for ending in (b"\r\n", b"\r", b"\n"):
        frame = b"id: 5" + ending + b"event: E" + ending + b"data: d" + ending + ending
        assert parse(frame)[0] == [ServerSentEvent(event="E", data="d", id="5")], ending
        assert bytewise(frame * 2) == [ServerSentEvent(event="E", data="d", id="5")] * 2


def test_a_crlf_split_between_chunks_is_one_line_end() -> None:
    events, _ = parse(b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n")
    assert events == [ServerSentEvent(event="message", data="a\nb", id=None)]


def test_a_cr_at_a_chunk_end_followed_by_a_blank_line() -> None:
    # "data: a" CR | CR: the second CR is a blank line, so the event dispatches.
    events, _ = parse(b"data: a\r", b"\r")
    assert [event.data for event in events] == ["a"]


def test_partial_lines_wait_for_their_end() -> None:
    parser = SSEParser()
    assert parser.feed(b"da") == []
    assert parser.feed(b"ta: hel") == []
    assert parser.feed(b"lo\n") == []
    assert [event.data for event in parser.feed(b"\n")] == ["hello"]


def test_utf8_split_inside_a_character_and_a_leading_bom() -> None:
    data = "\ufeffdata: café ✓ 🐍\n\n".encode()
    assert [event.data for event in bytewise(data)] == ["café ✓ 🐍"]
    # Only the first BOM of the stream is dropped; a later one makes an unknown field name.
    assert [e.data for e in parse(b"data: x\n\n", "\ufeffdata: y\n\n".encode())[0]] == ["x"]
    assert parse("\ufeffdata: y\n\n".encode())[0][0].data == "y"


def test_id_persists_and_nul_ids_are_ignored() -> None:
    events, parser = parse(b"id: 1\ndata: a\n\ndata: b\n\nid: 2\x003\ndata: c\n\nid\ndata: d\n\n")
    assert [(event.data, event.id) for event in events] == [
        ("a", "1"),
        ("b", "1"),
        ("c", "1"),
        ("d", ""),
    ]
    assert parser.last_event_id == ""


def test_retry_unknown_fields_and_colons_in_values() -> None:
    events, parser = parse(b"retry: 1500\nretry: soon\nfoo: bar\ndata: a: b\n\n")
    assert events[0].data == "a: b"
    assert parser.retry == 1500


def test_an_event_cut_off_by_the_end_of_the_stream_is_not_dispatched() -> None:
    events, _ = parse(b"data: complete\n\ndata: incomplete\n")
    assert [event.data for event in events] == ["complete"]


frames = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=10**6),
        st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"]), max_size=8),
        st.lists(
            st.text(
                alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n"),
                max_size=12,
            ),
            min_size=1,
            max_size=3,
        ),
        st.sampled_from([b"\n", b"\r\n", b"\r"]),
        st.booleans(),
    ),
    max_size=5,
)


@given(frames=frames, cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12))
def test_any_chunking_of_any_frames_gives_the_events_written(
    frames: list[tuple[int, str, list[str], bytes, bool]], cuts: list[int]
) -> None:
    stream = b""
    expected = []
    for offset, name, lines, ending, heartbeat in frames:
        event = name.strip().replace(":", "") or "message"
        if heartbeat:
            stream += b": heartbeat" + ending + ending
        stream += f"id: {offset}".encode() + ending + f"event: {event}".encode() + ending
        stream += b"".join(b"data: " + line.encode() + ending for line in lines) + ending
        expected.append(ServerSentEvent(event=event, data="\n".join(lines), id=str(offset)))
    points = sorted({cut for cut in cuts if cut < len(stream)})
    chunks = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
    assert parse(*chunks)[0] == expected
    assert bytewise(stream) == expected
