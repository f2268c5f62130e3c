"""Order-preserving integer keys for float scores.

Sorting or histogramming unsigned integers is several times faster than an argsort of floats, and a
float16 map has at most 65,536 keys, so its "sort" is a bincount. The mapping is exact: key order equals
float order, and decoding a key returns the original value bit for bit.
"""

from __future__ import annotations

import numpy as np

_UINT_FOR_FLOAT = {2: np.uint16, 4: np.uint32, 8: np.uint64}


def key_dtype(float_dtype: np.dtype) -> type:
    """The unsigned integer type holding the keys of ``float_dtype`` values."""
    return _UINT_FOR_FLOAT[np.dtype(float_dtype).itemsize]


def encode_keys(values: np.ndarray) -> np.ndarray:
    """Keys with ``key(a) < key(b)`` iff ``a < b`` for finite floats (-0.0 and +0.0 get adjacent keys).

    Positive floats get their sign bit set; negative floats get all bits flipped. Uses one temporary of
    the input's size, no float64 copy.
    """
    values = np.ascontiguousarray(values)
    udtype = key_dtype(values.dtype)
    bits = np.dtype(udtype).itemsize * 8
    raw = values.view(udtype)
    keys = raw >> udtype(bits - 1)            # 1 for negative numbers, 0 otherwise
    keys *= udtype((1 << (bits - 1)) - 1)      # negative: 0111..1, positive: 0
    keys |= udtype(1 << (bits - 1))            # negative: 1111..1, positive: 1000..0
    keys ^= raw
    return keys


def decode_keys(keys: np.ndarray, float_dtype: np.dtype) -> np.ndarray:
    """Inverse of :func:`encode_keys`: the float values (of ``float_dtype``) the keys came from."""
    udtype = key_dtype(float_dtype)
    keys = np.asarray(keys).astype(udtype, copy=False)
    bits = np.dtype(udtype).itemsize * 8
    raw = keys >> udtype(bits - 1)             # 1 for keys of non-negative numbers
    raw ^= udtype(1)                           # 1 for keys of negative numbers
    raw *= udtype((1 << (bits - 1)) - 1)
    raw |= udtype(1 << (bits - 1))             # negative: 1111..1, non-negative: 1000..0
    raw ^= keys
    return raw.view(np.dtype(float_dtype))
