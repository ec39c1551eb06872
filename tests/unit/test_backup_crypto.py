"""The encrypted backup format, chunk by chunk (docs/adr/0006): 64-byte chunks and a cheap
scrypt, so that files of many chunks stay small and the tests quick."""

from __future__ import annotations

import io
import os

import pytest

from finance_bot.adapters.backup import crypto as backup_crypto

PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(backup_crypto, "CHUNK_SIZE", 64)
    monkeypatch.setattr(backup_crypto, "_SCRYPT_LOG2_N", 10)
    return 64


def _seal(plaintext: bytes, passphrase: str = PASSPHRASE) -> bytes:
    sealed = io.BytesIO()
    backup_crypto.encrypt_stream(io.BytesIO(plaintext), sealed, passphrase)
    return sealed.getvalue()


def _open(sealed: bytes, passphrase: str = PASSPHRASE) -> bytes:
    plain = io.BytesIO()
    backup_crypto.decrypt_stream(io.BytesIO(sealed), plain, passphrase)
    return plain.getvalue()


@pytest.mark.parametrize("size", [0, 1, 63, 64, 65, 128, 64 * 5 + 7])
def test_encryption_round_trips_any_size(small_chunks: int, size: int) -> None:
    plaintext = os.urandom(size)
    sealed = _seal(plaintext)
    assert _open(sealed) == plaintext
    assert _seal(plaintext) != sealed  # a fresh salt and nonce every time


def test_every_way_of_tampering_with_chunks_is_caught(small_chunks: int) -> None:
    plaintext = os.urandom(small_chunks * 3)
    sealed = _seal(plaintext)
    header = len(sealed) - 3 * (small_chunks + 16)
    chunks = [sealed[header + i * (small_chunks + 16) :][: small_chunks + 16] for i in range(3)]
    head = sealed[:header]
    damaged = {
        "cut between two chunks": head + chunks[0] + chunks[1],
        "a chunk dropped": head + chunks[0] + chunks[2],
        "chunks swapped": head + chunks[1] + chunks[0] + chunks[2],
        "a chunk appended": sealed + chunks[2],
        "only the header": head,
        "a header cut short": head[:-1],
        "a different salt": head[:20] + bytes([head[20] ^ 1]) + head[21:] + b"".join(chunks),
    }
    for what, data in damaged.items():
        try:
            _open(data)
        except backup_crypto.BackupDecryptionError:
            continue
        pytest.fail(f"not caught: {what}")


def test_a_wrong_passphrase_is_told_apart_from_damage(small_chunks: int) -> None:
    sealed = _seal(b"ledger")
    with pytest.raises(backup_crypto.WrongPassphrase):
        _open(sealed, "not it")
    with pytest.raises(backup_crypto.DamagedBackup):
        _open(sealed[:-1])
