"""Edwards25519 point checks that OpenSSL does not make for us.

OpenSSL accepts public keys of small order, under which a signature (R = identity, S = 0)
verifies for every message. RFC 8032 §5.1.3 decoding plus a small-order check closes that.
"""

from __future__ import annotations

from typing import Final

P: Final = 2**255 - 19
D: Final = (-121665 * pow(121666, -1, P)) % P
L: Final = 2**252 + 27742317777372353535851937790883648493
_SQRT_M1: Final = pow(2, (P - 1) // 4, P)

# y-coordinates of the eight points of order 1, 2, 4 and 8 (each y is shared by x and -x).
SMALL_ORDER_Y: Final = frozenset(
    {
        0,
        1,
        P - 1,
        0x7A03AC9277FDC74EC6CC392CFA53202A0F67100D760B3CBA4FD84D3D706A17C7,
        0x05FC536D880238B13933C6D305ACDFD5F098EFF289F4C345B027B2C28F95E826,
    }
)


def recover_x(y: int, sign: int) -> int | None:
    """Return x for (x, y) on the curve with the given sign bit, or None if there is none."""
    x2 = (y * y - 1) * pow(D * y * y + 1, -1, P) % P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * _SQRT_M1 % P
    if (x * x - x2) % P:
        return None
    return P - x if x & 1 != sign else x


def point_problem(encoded: bytes) -> str | None:
    """Say why a 32-byte point encoding is unusable as a public key, or None if it is fine."""
    if len(encoded) != 32:
        return f"a public key is 32 bytes, got {len(encoded)}"
    value = int.from_bytes(encoded, "little")
    y, sign = value & ((1 << 255) - 1), value >> 255
    if y >= P:
        return "non-canonical point encoding (y is not reduced)"
    if recover_x(y, sign) is None:
        return "not a point on the curve (or a non-canonical encoding of x = 0)"
    if y in SMALL_ORDER_Y:
        return "a point of small order, which would accept forged signatures"
    return None
