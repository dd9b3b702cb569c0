"""engine.protocol: round trips of plain data, and refusal of malformed or hostile messages."""
import io
import json
import math
import struct

import numpy as np
import pytest

from engine import protocol as P

LIMITS = P.FROM_WORKER


def roundtrip(value, limits=LIMITS):
    """Encode `value`, frame it, read the frame back and decode it."""
    blobs = []
    body = P.Encoder(blobs).encode(value)
    data = P.pack_frame({"value": body}, blobs, limits)
    stream = io.BytesIO(data)
    header, got = P.read_frame(lambda n: _exact(stream, n), limits)
    assert stream.read() == b""
    table = P.BlobTable(got)
    out = P.decode_value(header["value"], table)
    table.check_all_used()
    return out


def _exact(stream, n):
    data = stream.read(n)
    if len(data) != n:
        raise EOFError(f"wanted {n} bytes, got {len(data)}")
    return data


def frame(header_bytes, blobs=b""):
    return b"AGW1" + struct.pack(">I", len(header_bytes)) + header_bytes + blobs


def read(data, limits=LIMITS):
    """read_frame over bytes; also returns how many bytes the reader asked for."""
    stream, asked = io.BytesIO(data), []

    def reader(n):
        asked.append(n)
        return _exact(stream, n)
    return P.read_frame(reader, limits), sum(asked)


def npy_v1(header: bytes) -> bytes:
    """A hand-made .npy 1.0 file with this header text and no data."""
    size = (10 + len(header) + 1 + 63) // 64 * 64 - 10  # header padded to a multiple of 64
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", size) + header.ljust(size - 1) + b"\n"


def npy(array):
    stream = io.BytesIO()
    np.save(stream, array, allow_pickle=True)
    return stream.getvalue()


# ------------------------------------------------------------------ round trips

@pytest.mark.parametrize("value", [
    None, True, False, 0, -7, 2 ** 200, -(2 ** 4000), 1.5, -0.0, 1e-308, 5e-324,
    1.7976931348623157e308,
    "", "plain", "é ☃ \U0001F600", "\ud800 lone surrogate", "\x00 nul",
    [], [1, [2, [3]]], (), (1, (2.5, "x")), {}, {"a": 1, "b": [None, (True,)]},
    {"$tuple": 1, "$array": [2]},       # keys that look like tags are still plain keys
    [{"$ref": 3}], ({"": ()},),
])
def test_plain_values_roundtrip_with_their_types(value):
    out = roundtrip(value)
    assert out == value
    assert repr(out) == repr(value)  # same types all the way down: tuples stay tuples


@pytest.mark.parametrize("value,name", [(math.nan, "nan"), (math.inf, "inf"), (-math.inf, "-inf")])
def test_nonfinite_floats_roundtrip(value, name):
    assert P.Encoder([]).encode(value) == {"$float": name}
    out = roundtrip([value])[0]
    assert type(out) is float and (math.isnan(out) if name == "nan" else out == value)


@pytest.mark.parametrize("dtype", ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16",
                                   "uint32", "uint64", "float16", "float32", "float64",
                                   ">f8", ">i4", "longdouble"])
def test_arrays_keep_dtype_shape_and_values(dtype):
    rng = np.random.default_rng(3)
    array = (rng.standard_normal((3, 4)) * 50).astype(dtype)
    out = roundtrip({"a": array})["a"]
    assert type(out) is np.ndarray and out.dtype == array.dtype and out.shape == (3, 4)
    np.testing.assert_array_equal(out, array)
    assert out.flags.writeable and out.flags.owndata


@pytest.mark.parametrize("array", [
    np.array(3.25), np.zeros((0, 3)), np.zeros((2, 0, 5), dtype=np.int8),
    np.asfortranarray(np.arange(12.0).reshape(3, 4)), np.arange(20)[::3],
    np.arange(24).reshape(2, 3, 4).transpose(2, 0, 1),
], ids=["0d", "empty", "empty3d", "fortran", "strided", "transposed"])
def test_array_layouts_roundtrip(array):
    out = roundtrip(array)
    assert out.shape == array.shape and out.dtype == array.dtype
    np.testing.assert_array_equal(out, array)


def test_many_arrays_each_get_their_own_blob():
    arrays = [np.full(i + 1, i, dtype=np.int32) for i in range(10)]
    out = roundtrip((arrays, arrays[0]))
    assert len(out[0]) == 10 and all(np.array_equal(a, b) for a, b in zip(out[0], arrays))
    assert out[1] is not out[0][0] and np.array_equal(out[1], arrays[0])


@pytest.mark.parametrize("scalar,kind,expected", [
    (np.float64(2.5), float, 2.5), (np.float32(0.5), float, 0.5), (np.float16(1.5), float, 1.5),
    (np.int64(-3), int, -3), (np.uint8(200), int, 200), (np.bool_(True), bool, True),
])
def test_numpy_scalars_become_python_scalars(scalar, kind, expected):
    out = roundtrip([scalar])[0]
    assert type(out) is kind and out == expected


class MyFloat(float):
    pass


class MyArray(np.ndarray):
    pass


@pytest.mark.parametrize("value", [
    np.array([object()], dtype=object), np.array([1 + 2j]), np.zeros(2, dtype="i4,f8"),
    np.array(["text"]), np.array(["2020-01-01"], dtype="datetime64[D]"),
    np.eye(2).view(MyArray), {1, 2}, {1: "int key"}, MyFloat(1.0), 1 + 2j, b"bytes",
    2 ** 5000, object(), np.complex128(1j), [1, [2, {"k": object()}]],
], ids=lambda v: type(v).__name__)
def test_non_plain_values_are_refused_when_encoding(value):
    with pytest.raises(TypeError, match="not plain"):
        P.Encoder([]).encode(value)


def test_encoder_hands_non_plain_leaves_to_its_fallback():
    seen = []

    def other(value, depth):
        seen.append((type(value).__name__, depth))
        return {"$ref": [len(seen), type(value).__name__]}
    out = P.Encoder([], other).encode([1, {"k": {2, 3}}, (object(),)])
    assert out == [1, {"$dict": {"k": {"$ref": [1, "set"]}}}, {"$tuple": [{"$ref": [2, "object"]}]}]
    assert seen == [("set", 2), ("object", 2)]


def test_encoder_stops_at_max_depth_and_counts_nodes():
    deep = []
    for _ in range(P.MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(TypeError):
        P.Encoder([]).encode(deep)
    shared = [0]
    for _ in range(30):  # a DAG whose tree would have 2**30 leaves
        shared = [shared, shared]
    with pytest.raises(P.ProtocolError, match="more than"):
        P.Encoder([]).encode(shared)


# ------------------------------------------------------------------ hostile frames

def test_bad_magic_is_refused():
    with pytest.raises(P.ProtocolError, match="magic"):
        read(b"HTTP" + bytes(100))


def test_oversized_header_is_refused_before_reading_it():
    data = b"AGW1" + struct.pack(">I", LIMITS.max_header + 1) + b"{" * 100
    with pytest.raises(P.ProtocolError, match="header"):
        read(data)
    stream, asked = io.BytesIO(data), []
    with pytest.raises(P.ProtocolError):
        P.read_frame(lambda n: asked.append(n) or _exact(stream, n), LIMITS)
    assert asked == [8]


def test_oversized_blobs_are_refused_before_reading_them():
    asked = []
    header = json.dumps({"kind": "ok", "blobs": [LIMITS.max_total]}).encode()
    data = frame(header)
    stream = io.BytesIO(data)
    with pytest.raises(P.ProtocolError, match="exceeds"):
        P.read_frame(lambda n: asked.append(n) or _exact(stream, n), LIMITS)
    assert asked == [8, len(header)]
    many = json.dumps({"blobs": [0] * (LIMITS.max_blobs + 1)}).encode()
    with pytest.raises(P.ProtocolError, match="at most"):
        read(frame(many))


@pytest.mark.parametrize("header", [
    b'{"blobs": [-1]}', b'{"blobs": [true]}', b'{"blobs": [1.0]}', b'{"blobs": "3"}',
    b'{"kind": "ok"}', b'[1, 2]', b'"text"', b'{"blobs": []', b'{"blobs": [], "x": NaN}',
    b'{"blobs": [], "x": Infinity}', b'{"blobs": [], "x": 1e999}', b'{"blobs": [], "x": -1e400}',
    b'{"blobs": [], "x": ' + b"9" * 5000 + b"}", b'{"blobs": [], "blobs": []}',
    b'{"blobs": [], "a": {"k": 1, "k": 2}}', b'\xff\xfe{"blobs": []}',
    b'{"blobs": [], "s": "\xc3"}',
    b'[' * 200000 + b']' * 200000,
], ids=range(18))
def test_malformed_headers_are_protocol_errors(header):
    with pytest.raises(P.ProtocolError):
        read(frame(header))


def test_truncated_frames_stop_with_the_reader_error():
    good = P.pack_frame({"value": {"$array": 0}}, [P.dump_npy(np.arange(5.0))], LIMITS)
    for cut in (3, 8, 20, len(good) - 1):
        with pytest.raises(EOFError):
            read(good[:cut])
    (header, blobs), used = read(good)
    assert used == len(good) and len(blobs) == 1


def test_pack_frame_refuses_messages_over_the_limits():
    small = P.Limits(max_header=100, max_total=1000, max_blobs=2)
    with pytest.raises(P.ProtocolError):
        P.pack_frame({"text": "x" * 200}, [], small)
    with pytest.raises(P.ProtocolError):
        P.pack_frame({}, [b"\0" * 1000], small)
    with pytest.raises(P.ProtocolError):
        P.pack_frame({}, [b"", b"", b""], small)
    with pytest.raises(ValueError, match="reserved"):
        P.pack_frame({"blobs": []}, [], small)


# ------------------------------------------------------------------ .npy bytes

@pytest.mark.parametrize("array", [
    np.arange(12.0).reshape(4, 3), np.zeros(()), np.arange(5), np.array([True, False]),
    np.ones((2, 3, 4), dtype=np.float32), np.zeros((0, 3)), np.arange(6, dtype=">i4"),
    np.zeros(1, dtype=np.uint8), np.ones((1,) * 32),
], ids=["f8-2d", "scalar", "i8", "bool", "f4-3d", "empty", "big-endian", "u1", "32-dims"])
def test_dump_npy_writes_numpys_bytes_and_both_parsers_agree(array):
    ours = P.dump_npy(array)
    assert ours == npy(array)  # the canonical header, so the fast parser takes it
    back = P.load_npy(ours)
    assert back.dtype == array.dtype and back.shape == array.shape and np.array_equal(back, array)
    assert back.flags.writeable and back.flags.owndata


@pytest.mark.parametrize("array", [np.asfortranarray(np.arange(12.0).reshape(3, 4)),
                                   np.arange(12.0).reshape(3, 4)[:, ::2], np.arange(12.0).reshape(3, 4).T])
def test_arrays_that_are_not_c_contiguous_round_trip(array):
    back = P.load_npy(P.dump_npy(array))
    assert back.shape == array.shape and np.array_equal(back, array)


def test_headers_numpy_did_not_write_go_through_numpys_parser():
    data = np.arange(3.0).tobytes()
    reordered = npy_v1(b"{'shape': (3,), 'fortran_order': False, 'descr': '<f8'}")
    assert P.load_npy(reordered + data).tolist() == [0.0, 1.0, 2.0]
    stream = io.BytesIO()
    np.lib.format.write_array(stream, np.arange(3.0), version=(2, 0))
    assert P.load_npy(stream.getvalue()).tolist() == [0.0, 1.0, 2.0]
    fortran = npy(np.asfortranarray(np.arange(6.0).reshape(2, 3)))
    assert P.load_npy(fortran).tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]


# ------------------------------------------------------------------ hostile .npy blobs

def test_pickled_object_array_is_refused():
    data = npy(np.array([{"x": 1}, None], dtype=object))
    with pytest.raises(P.ProtocolError, match="dtype"):
        P.load_npy(data)


@pytest.mark.parametrize("data", [
    npy(np.array([1 + 1j])), npy(np.zeros(2, dtype="i4,f8")), npy(np.array(["a"])),
    npy(np.zeros(3))[:-1], npy(np.zeros(3)) + b"\0", b"", b"\x93NUMPY", b"PK\x03\x04" + bytes(60),
    b"\x93NUMPY\x03\x00" + bytes(60),
    npy_v1(b"{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }"),
    npy_v1(b"{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }"),
    npy_v1(b"{'descr': '<f8', 'fortran_order': 1, 'shape': (3,)}"),
    npy_v1(b"__import__('os').system('x')"),
    b"\x93NUMPY\x02\x00" + struct.pack("<I", 200000) + b"{" * 200000,
    npy_v1(b"{'descr': '<f8', 'fortran_order': False, 'shape': (" + b"1, " * 32 + b"1), }"),
    npy_v1(b"{'descr': '<f8', 'fortran_order': False, 'shape': (999999999999999999, 999999999999999999), }"),
    npy_v1(b"{'descr': '|O8', 'fortran_order': False, 'shape': (1,), }") + bytes(8),
    npy_v1(b"{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }") + bytes(8),
], ids=["complex", "structured", "unicode", "short", "long", "empty", "magic-only", "npz",
        "version3", "huge-shape", "negative-shape", "bad-fortran", "code", "huge-header",
        "33-dims", "overflowing-shape", "object-canonical", "short-canonical"])
def test_hostile_npy_blobs_are_refused(data):
    with pytest.raises(P.ProtocolError):
        P.load_npy(data)


# ------------------------------------------------------------------ value decoding

@pytest.mark.parametrize("obj", [
    {"$unknown": 1}, {"$tuple": [1], "$dict": {}}, {"a": 1}, {}, {"$tuple": "ab"}, {"$dict": [1]},
    {"$float": "NaN"}, {"$float": 1.0}, {"$array": 1}, {"$array": -1}, {"$array": True},
    {"$array": "0"}, {"$ref": [1, "x"]},
], ids=range(13))
def test_bad_tags_are_protocol_errors(obj):
    table = P.BlobTable([P.dump_npy(np.zeros(1))])
    with pytest.raises(P.ProtocolError):
        P.decode_value(obj, table)


def test_each_blob_must_be_used_exactly_once():
    blobs = [P.dump_npy(np.zeros(1)), P.dump_npy(np.ones(1))]
    table = P.BlobTable(blobs)
    with pytest.raises(P.ProtocolError, match="twice"):
        P.decode_value([{"$array": 0}, {"$array": 0}], table)
    table = P.BlobTable(blobs)
    P.decode_value({"$array": 1}, table)
    with pytest.raises(P.ProtocolError, match="not used"):
        table.check_all_used()


def test_decoding_depth_is_bounded_and_extra_tags_are_used():
    deep = 0
    for _ in range(P.MAX_DEPTH + 2):
        deep = {"$tuple": [deep]}
    with pytest.raises(P.ProtocolError, match="deeper"):
        P.decode_value(deep, P.BlobTable([]))
    out = P.decode_value([{"$ref": [7, "T"]}], P.BlobTable([]), {"$ref": lambda p: ("ref", *p)})
    assert out == [("ref", 7, "T")]


def test_mutated_frames_only_ever_raise_protocol_or_eof_errors():
    """Seeded fuzzing: flipping bytes of a valid frame never escapes the decoder's errors."""
    value = {"a": [np.arange(6, dtype=np.int16).reshape(2, 3), (1.5, None, "s")], "n": math.nan}
    blobs = []
    good = P.pack_frame({"value": P.Encoder(blobs).encode(value)}, blobs, LIMITS)
    rng = np.random.default_rng(2024)
    outcomes = set()
    for _ in range(1500):
        data = bytearray(good)
        for pos in rng.integers(0, len(data), size=rng.integers(1, 4)):
            data[pos] = int(rng.integers(0, 256))
        try:
            (header, got), _ = read(bytes(data))
            table = P.BlobTable(got)
            P.decode_value(header.get("value"), table)
            table.check_all_used()
            outcomes.add("ok")
        except (P.ProtocolError, EOFError):
            outcomes.add("refused")
    assert outcomes == {"ok", "refused"}
