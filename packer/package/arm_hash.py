"""ARM's two deterministic hash functions, computed exactly as Azure Resource Manager does.

uniqueString(a, b, ...): the arguments joined with "-", UTF-8 encoded, hashed with the 64-bit
Murmur variant of Microsoft's ResourceStack library (two 32-bit lanes with MurmurHash3 x86
constants, seed 0), the hash written as 13 characters of a base32 alphabet a-z2-7, 5 bits at a
time from the most significant end. Public descriptions: the maskati gist "Calculating the Bicep
uniqueString hash locally", Azure/terraform-provider-azapi
internal/services/functions/unique_string_function.go (Microsoft's own reimplementation).
Published input/output pairs are in tests/test_arm_expr.py.

guid(a, b, ...): a name-based UUID version 5 (RFC 4122 section 4.3, SHA-1) of the arguments
joined with "-" in ARM's fixed namespace 11fb06fb-712d-4ddd-98c7-e71bbd588830 (Microsoft's
template-functions-string page: "implements the algorithm from RFC 4122 §4.3").
"""
from __future__ import annotations

import uuid

_M32 = 0xFFFFFFFF
_C1, _C2 = 0x239B961B, 0xAB0E9789
_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
ARM_GUID_NAMESPACE = uuid.UUID("11fb06fb-712d-4ddd-98c7-e71bbd588830")


def _rotl(value: int, bits: int) -> int:
    return ((value << bits) | (value >> (32 - bits))) & _M32


def _fmix(h: int) -> int:
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _M32
    return h ^ (h >> 16)


def _lane1(k: int) -> int:
    return (_rotl((k * _C1) & _M32, 15) * _C2) & _M32


def _lane2(k: int) -> int:
    return (_rotl((k * _C2) & _M32, 17) * _C1) & _M32


def murmur64(data: bytes, seed: int = 0) -> int:
    """The 64-bit hash uniqueString is built on (unsigned arithmetic modulo 2**32 per lane)."""
    h1 = h2 = seed
    length = len(data)
    index = 0
    while index + 7 < length:
        h1 ^= _lane1(int.from_bytes(data[index:index + 4], "little"))
        h1 = (_rotl(h1, 19) + h2) & _M32
        h1 = (h1 * 5 + 0x561CCD1B) & _M32
        h2 ^= _lane2(int.from_bytes(data[index + 4:index + 8], "little"))
        h2 = (_rotl(h2, 13) + h1) & _M32
        h2 = (h2 * 5 + 0x0BCAA747) & _M32
        index += 8
    tail = length - index
    if tail > 0:
        h1 ^= _lane1(int.from_bytes(data[index:index + min(tail, 4)], "little"))
        if tail > 4:
            h2 ^= _lane2(int.from_bytes(data[index + 4:length], "little"))
    h1 ^= length & _M32
    h2 ^= length & _M32
    h1 = (h1 + h2) & _M32
    h2 = (h2 + h1) & _M32
    h1, h2 = _fmix(h1), _fmix(h2)
    h1 = (h1 + h2) & _M32
    h2 = (h2 + h1) & _M32
    return (h2 << 32) | h1


def unique_string(*values: str) -> str:
    value = murmur64("-".join(values).encode("utf-8"))
    out = []
    for _ in range(13):
        out.append(_BASE32[value >> 59])
        value = (value << 5) & 0xFFFFFFFFFFFFFFFF
    return "".join(out)


def arm_guid(*values: str) -> str:
    return str(uuid.uuid5(ARM_GUID_NAMESPACE, "-".join(values)))
