"""API tokens: random, prefixed, and stored only as a hash."""

from __future__ import annotations

import base64
import hashlib

from qharbor.security.tokens import PREFIX, hash_token, new_token


def test_tokens_start_with_qh() -> None:
    assert PREFIX == "qh_"
    assert new_token().startswith("qh_")


def test_tokens_carry_at_least_256_random_bits() -> None:
    body = new_token().removeprefix("qh_")
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    assert len(raw) * 8 >= 256


def test_tokens_do_not_repeat() -> None:
    assert len({new_token() for _ in range(1000)}) == 1000


def test_hash_is_the_sha256_hex_digest() -> None:
    token = new_token()
    assert hash_token(token) == hashlib.sha256(token.encode()).hexdigest()
    assert hash_token(token) != hash_token(new_token())
