"""The wire format between the trusted grader and the sandboxed worker (imported by both sides).

Only plain data crosses, in both directions: a JSON header and `.npy` blobs. Never pickle,
never eval. Everything read from the other side is validated here before use.

Framing
-------
A message is one frame::

    b"AGW1"        4 bytes, magic
    hlen           4 bytes, unsigned big-endian: length of the header
    header         hlen bytes of UTF-8 JSON: an object holding "blobs": [n0, n1, ...]
    blob 0 .. k-1  n0, n1, ... bytes: each one `.npy` file (format 1.0 or 2.0)

`read_frame` checks the magic, `hlen <= max_header`, the blob count and `8 + hlen + sum(n)
<= max_total` before reading what follows, so reading stops at the limit. The JSON may not hold
NaN/Infinity literals, non-finite or oversized numbers, or an object with a repeated key.

Values (both directions)
------------------------
Every JSON object in a value is a *tag*: exactly one key, listed here::

    null, true, false, int, finite float, "str"     themselves (ints up to MAX_INT_BITS bits)
    [v, ...]                                        list
    {"$tuple": [v, ...]}                            tuple (comes back a tuple)
    {"$dict": {"key": v, ...}}                      dict with str keys
    {"$float": "nan" | "inf" | "-inf"}              non-finite float
    {"$array": i}                                   numpy array = blob i; dtype kind b/i/u/f
                                                    (bool, int, uint, float), any byte order;
                                                    every blob is used exactly once
Numpy scalars of those kinds are sent as Python scalars. Nesting is at most MAX_DEPTH deep.

Worker -> trusted adds ``{"$ref": [id, "module.QualName"]}``: an object the worker keeps.

Requests (trusted -> worker)
----------------------------
Header ``{"op": "eval", "seq": n, "expr": E, "keep": bool, "drop": [id, ...]}`` with n >= 1.
The worker forgets the refs in "drop", evaluates E and answers its value (a ref if "keep").
E is a value whose list/tuple/dict items are E again, or one of::

    {"$ref": id}                       an object kept by the worker
    {"$import": "pkg.mod.name"}        import the module, then getattr what is not a module
    {"$getattr": [E, "name"]}          getattr(E, "name")
    {"$call": [E, [E, ...], {"kw": E}]}  call with positional and keyword arguments
    {"$op": ["add", E, E]}             operator, operands in the order written (OPS below);
                                       ``2 - x`` is ["sub", 2, x], so Python picks x.__rsub__
    {"$slice": [E, E, E]}  {"$ellipsis": null}     for indexing
    {"$func": {"nparams": n, "steps": [E, ...], "return": E}}
        a function of n positional arguments, in SSA form: the arguments are slots 0..n-1,
        step k is evaluated in order and stored in slot n + k, then "return" is evaluated
    {"$var": i}                        slot i: only inside "$func", and only a slot already set

Responses (worker -> trusted)
-----------------------------
    {"kind": "hello", "seq": 0, "pid": int, "uid": int, "python": str, "numpy": str, "nproc": int}
    {"kind": "ok", "seq": n, "value": V}
    {"kind": "error", "seq": n, "type": str, "message": str, "traceback": str}   raised by the call
    {"kind": "fail", "seq": n, "message": str}      the worker could not serve the request
"""
from __future__ import annotations

import io
import json
import math
import re
import struct
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

MAGIC = b"AGW1"
_PREFIX = struct.Struct(">4sI")
PREFIX_SIZE = _PREFIX.size
MAX_DEPTH = 64                 # nesting of values and expressions
MAX_INT_BITS = 4096            # larger ints are not plain data
MAX_INT_DIGITS = 1300          # what a JSON int of MAX_INT_BITS bits needs, with slack
MAX_NODES = 2_000_000          # values encoded in one message
MAX_NPY_HEADER = 10_000
MAX_NDIM = 32
ARRAY_KINDS = "biuf"
NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
OPS = {"add": 2, "sub": 2, "mul": 2, "truediv": 2, "pow": 2, "matmul": 2, "getitem": 2,
       "neg": 1, "pos": 1, "abs": 1}
PLAIN_TAGS = ("$tuple", "$dict", "$float", "$array")


class ProtocolError(ValueError):
    """A message breaks the format or a limit."""


@dataclass(frozen=True)
class Limits:
    """Size caps of one message, in bytes (max_blobs: number of arrays)."""

    max_header: int
    max_total: int
    max_blobs: int


FROM_WORKER = Limits(max_header=1 << 20, max_total=64 << 20, max_blobs=4096)
TO_WORKER = Limits(max_header=16 << 20, max_total=64 << 20, max_blobs=65536)


# ---------------------------------------------------------------- framing

def pack_frame(header: dict, blobs: list, limits: Limits) -> bytes:
    """One frame holding `header` (JSON-able, without "blobs") and the `.npy` blobs (bytes)."""
    if "blobs" in header:
        raise ValueError("the header key 'blobs' is reserved")
    lengths = [len(b) for b in blobs]
    text = json.dumps(dict(header, blobs=lengths), allow_nan=False, ensure_ascii=True,
                      separators=(",", ":")).encode("ascii")
    total = PREFIX_SIZE + len(text) + sum(lengths)
    if len(text) > limits.max_header or total > limits.max_total or len(blobs) > limits.max_blobs:
        raise ProtocolError(f"message too large: header {len(text)} bytes, {len(blobs)} arrays, "
                            f"{total} bytes in all (limits {limits.max_header}, "
                            f"{limits.max_blobs}, {limits.max_total})")
    return b"".join([_PREFIX.pack(MAGIC, len(text)), text, *blobs])


def read_frame(read_exact: Callable[[int], bytes], limits: Limits) -> tuple[dict, list]:
    """Read one frame with `read_exact(n)` (exactly n bytes, or raise); return (header, blobs).

    The returned header no longer holds "blobs". Raises ProtocolError as soon as a limit or
    the format is broken, before reading anything beyond it.
    """
    magic, hlen = _PREFIX.unpack(read_exact(PREFIX_SIZE))
    if magic != MAGIC:
        raise ProtocolError(f"bad magic {magic!r}")
    if hlen > limits.max_header:
        raise ProtocolError(f"header of {hlen} bytes exceeds {limits.max_header}")
    header = parse_json(read_exact(hlen))
    if type(header) is not dict:
        raise ProtocolError("the header is not a JSON object")
    lengths = header.pop("blobs", None)
    if type(lengths) is not list or len(lengths) > limits.max_blobs:
        raise ProtocolError("the header needs 'blobs', a list of at most "
                            f"{limits.max_blobs} lengths")
    if not all(type(n) is int and n >= 0 for n in lengths):
        raise ProtocolError("blob lengths must be non-negative integers")
    total = PREFIX_SIZE + hlen + sum(lengths)
    if total > limits.max_total:
        raise ProtocolError(f"message of {total} bytes exceeds {limits.max_total}")
    return header, [read_exact(n) for n in lengths]


def _reject_constant(name):
    raise ProtocolError(f"JSON constant {name} is not allowed")


def _finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise ProtocolError(f"JSON number {text[:20]} is not finite")
    return value


def _bounded_int(text):
    if len(text) > MAX_INT_DIGITS:
        raise ProtocolError("JSON integer too long")
    return int(text)


def _unique_keys(pairs):
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ProtocolError("JSON object with a repeated key")
    return result


def parse_json(data: bytes) -> Any:
    """Strict UTF-8 JSON (no NaN/Infinity, no huge numbers, no repeated keys)."""
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_reject_constant,
                          parse_float=_finite_float, parse_int=_bounded_int,
                          object_pairs_hook=_unique_keys)
    except ProtocolError:
        raise
    except (ValueError, RecursionError) as exc:   # UnicodeDecodeError is a ValueError
        raise ProtocolError(f"malformed JSON: {type(exc).__name__}: {str(exc)[:200]}") from None


# ---------------------------------------------------------------- arrays

def is_plain_array(value: Any) -> bool:
    """True for a numpy array (not a subclass) of bool, int, uint or float dtype."""
    return (type(value) is np.ndarray and value.dtype.kind in ARRAY_KINDS
            and value.dtype.fields is None)


_NPY_V1 = b"\x93NUMPY\x01\x00"
_NPY_ALIGN = 64
# The header numpy itself writes for a plain array, e.g. {'descr': '<f8', 'fortran_order': False,
# 'shape': (4, 3), } then spaces and a newline. Anything else goes through numpy's own parser.
_NPY_HEADER = re.compile(r"\{'descr': '([<>|][biuf][1248])', 'fortran_order': (False|True), "
                         r"'shape': \((|\d{1,18},|\d{1,18}(?:, \d{1,18})+)\), \} *\n")


def dump_npy(array: np.ndarray) -> bytes:
    """The `.npy` (format 1.0, C order) bytes of a plain array (never pickled).

    The same bytes as numpy.lib.format.write_array for a C-contiguous array, written directly:
    the call is on every remote call's path, and numpy's writer costs tens of microseconds.
    """
    if not is_plain_array(array):
        raise TypeError(f"not a plain array: {type(array).__name__} of dtype "
                        f"{getattr(array, 'dtype', None)}")
    header = f"{{'descr': {array.dtype.str!r}, 'fortran_order': False, 'shape': {array.shape!r}, }}"
    padding = -(len(_NPY_V1) + 2 + len(header) + 1) % _NPY_ALIGN
    header = (header + " " * padding + "\n").encode("latin1")
    return b"".join((_NPY_V1, len(header).to_bytes(2, "little"), header,
                     np.ascontiguousarray(array).tobytes()))


def _read_npy_header(data: bytes):
    """(shape, fortran_order, dtype, offset of the payload) of `.npy` bytes.

    numpy's canonical format 1.0 header is parsed here by a strict pattern (fast); any other
    header by numpy's parser, which evaluates it with ast.literal_eval (slow but general).
    """
    if data[:len(_NPY_V1)] == _NPY_V1 and len(data) >= 10:
        size = int.from_bytes(data[8:10], "little")
        match = _NPY_HEADER.fullmatch(data[10:10 + size].decode("latin1"))
        if match:
            descr, fortran, dims = match.groups()
            shape = tuple(int(n) for n in dims.split(",") if n.strip())
            return shape, fortran == "True", np.dtype(descr), 10 + size
    stream = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(
                stream, max_header_size=MAX_NPY_HEADER)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(
                stream, max_header_size=MAX_NPY_HEADER)
        else:
            raise ProtocolError(f".npy format {version} is not accepted")
    except ProtocolError:
        raise
    except Exception as exc:  # numpy raises several types for a bad header
        raise ProtocolError(f"bad .npy header: {type(exc).__name__}: {str(exc)[:200]}") from None
    return shape, fortran, dtype, stream.tell()


def load_npy(data: bytes) -> np.ndarray:
    """Parse `.npy` bytes into a fresh, writable array; refuse anything but a plain array.

    Checks the magic, the header (size, dtype kind, shape) and that the payload has exactly
    the declared size, before allocating anything for it.
    """
    shape, fortran, dtype, offset = _read_npy_header(data)
    if dtype.kind not in ARRAY_KINDS or dtype.fields is not None or dtype.hasobject:
        raise ProtocolError(f"array dtype {dtype} is not bool/int/uint/float")
    if (type(shape) is not tuple or len(shape) > MAX_NDIM
            or not all(type(n) is int and n >= 0 for n in shape)):
        raise ProtocolError(f"bad array shape {shape!r}")
    count = math.prod(shape)
    payload = data[offset:]
    if len(payload) != count * dtype.itemsize:
        raise ProtocolError(f"array payload of {len(payload)} bytes, expected "
                            f"{count * dtype.itemsize} for shape {shape} and dtype {dtype}")
    flat = np.frombuffer(payload, dtype=dtype, count=count)
    return flat.reshape(shape, order="F" if fortran else "C").copy(order="K")


# ---------------------------------------------------------------- values

def nonfinite_name(value: float) -> str:
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


class Encoder:
    """Turns plain values into JSON-able data, appending arrays to `blobs`.

    `other(value, depth)` is called for anything that is not plain data (and for values
    nested deeper than MAX_DEPTH); it returns a JSON-able tag or raises TypeError. Containers
    are recursed only when their type is exactly list, tuple or dict (str keys).
    """

    def __init__(self, blobs: list, other: Callable[[Any, int], Any] | None = None):
        self.blobs = blobs
        self._other = other
        self._nodes = 0

    def not_plain(self, value, depth):
        if self._other is None:
            raise TypeError(f"not plain data: {type(value).__module__}."
                            f"{type(value).__qualname__}")
        return self._other(value, depth)

    def encode(self, value: Any, depth: int = 0) -> Any:
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise ProtocolError(f"more than {MAX_NODES} values in one message")
        if depth >= MAX_DEPTH:
            return self.not_plain(value, depth)
        kind = type(value)
        if value is None or kind is bool or kind is str:
            return value
        if kind is int:
            return value if value.bit_length() <= MAX_INT_BITS else self.not_plain(value, depth)
        if kind is float:
            return value if math.isfinite(value) else {"$float": nonfinite_name(value)}
        if kind is list:
            return [self.encode(v, depth + 1) for v in value]
        if kind is tuple:
            return {"$tuple": [self.encode(v, depth + 1) for v in value]}
        if kind is dict and all(type(k) is str for k in value):
            return {"$dict": {k: self.encode(v, depth + 1) for k, v in value.items()}}
        if is_plain_array(value):
            self.blobs.append(dump_npy(value))
            return {"$array": len(self.blobs) - 1}
        if isinstance(value, np.generic) and value.dtype.kind in ARRAY_KINDS:
            caster = {"b": bool, "i": int, "u": int, "f": float}[value.dtype.kind]
            return self.encode(caster(value), depth)
        return self.not_plain(value, depth)


class BlobTable:
    """The arrays of one message: each blob decoded once, and each must be used exactly once."""

    def __init__(self, blobs: list):
        self._blobs = blobs
        self._used = [False] * len(blobs)

    def array(self, index: Any) -> np.ndarray:
        if type(index) is not int or not 0 <= index < len(self._blobs):
            raise ProtocolError(f"no array number {index!r}")
        if self._used[index]:
            raise ProtocolError(f"array {index} used twice")
        self._used[index] = True
        return load_npy(self._blobs[index])

    def check_all_used(self) -> None:
        if not all(self._used):
            raise ProtocolError(f"{self._used.count(False)} array(s) sent but not used")


def split_tag(obj: dict) -> tuple[str, Any]:
    """(tag, payload) of a JSON object that must be a one-key tag."""
    if len(obj) != 1:
        raise ProtocolError(f"an object must be a single tag, got keys {sorted(obj)[:5]}")
    return next(iter(obj.items()))


def decode_nonfinite(payload: Any) -> float:
    if type(payload) is not str or payload not in NONFINITE:
        raise ProtocolError(f"bad $float {payload!r}")
    return NONFINITE[payload]


def decode_value(obj: Any, blobs: BlobTable,
                 extra: dict[str, Callable[[Any], Any]] | None = None, depth: int = 0) -> Any:
    """The value encoded by `obj`; `extra` maps more tags to their decoders (e.g. "$ref")."""
    if depth > MAX_DEPTH:
        raise ProtocolError(f"value nested deeper than {MAX_DEPTH}")
    kind = type(obj)
    if obj is None or kind in (bool, int, float, str):
        return obj
    if kind is list:
        return [decode_value(v, blobs, extra, depth + 1) for v in obj]
    if kind is not dict:
        raise ProtocolError(f"unexpected JSON type {kind.__name__}")
    tag, payload = split_tag(obj)
    if tag == "$tuple":
        if type(payload) is not list:
            raise ProtocolError("$tuple needs a list")
        return tuple(decode_value(v, blobs, extra, depth + 1) for v in payload)
    if tag == "$dict":
        if type(payload) is not dict:
            raise ProtocolError("$dict needs an object")
        return {k: decode_value(v, blobs, extra, depth + 1) for k, v in payload.items()}
    if tag == "$float":
        return decode_nonfinite(payload)
    if tag == "$array":
        return blobs.array(payload)
    if extra and tag in extra:
        return extra[tag](payload)
    raise ProtocolError(f"unknown tag {tag[:40]!r}")
