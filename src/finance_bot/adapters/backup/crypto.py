"""Passphrase encryption of backup files: AES-256-GCM in chunks, streamed (docs/adr/0006).

A dump can be larger than memory, and a restore must know the file is whole and was made
with this passphrase before it touches a database. So the file is a header and a run of
independently authenticated chunks (the STREAM construction): each chunk's nonce carries
its position and whether it is the last one, and every chunk authenticates the header.
Reordered, dropped, appended or edited chunks, and a file cut short anywhere (even exactly
between two chunks), fail authentication.

    header  magic "FBBACKUP" | version 1 | log2(scrypt N) | scrypt r | scrypt p
            | chunk size (4 bytes, big-endian) | salt (16) | nonce prefix (7)
            | key check (32)
    chunks  AES-256-GCM(plaintext chunk, nonce = prefix | counter (4) | last (1),
            associated data = header); every chunk but the last holds exactly
            `chunk size` bytes of plaintext; the last may be shorter, even empty.

The key and the key check are two halves of one scrypt output, so a wrong passphrase is
told apart from a damaged file without decrypting anything, and learning the check gives
an attacker nothing cheaper than trying passphrases through scrypt anyway.
"""

from __future__ import annotations

import hmac
import os
import struct
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

MAGIC = b"FBBACKUP"
VERSION = 1
_HEADER = struct.Struct(">8sBBBBI16s7s32s")
_TAG_SIZE = 16
_KEY_SIZE = 32
CHUNK_SIZE = 1024 * 1024
# 2**17 * 8 * 128 bytes = 128 MiB and about a third of a second per file: a nightly job
# can afford it, and it makes every guess at the passphrase cost as much.
_SCRYPT_LOG2_N, _SCRYPT_R, _SCRYPT_P = 17, 8, 1
# Bounds on what a header may ask for, so a hostile file cannot make a restore allocate
# gigabytes before it is rejected.
_MAX_LOG2_N, _MAX_CHUNK_SIZE = 22, 64 * 1024 * 1024


class BackupDecryptionError(RuntimeError):
    """The file cannot be decrypted; the message says why and is safe to show."""


class WrongPassphrase(BackupDecryptionError):
    pass


class DamagedBackup(BackupDecryptionError):
    pass


def is_encrypted(head: bytes) -> bool:
    """Whether a file beginning with `head` is in this format (it starts with the magic)."""
    return head.startswith(MAGIC)


def encrypt_stream(source: BinaryIO, destination: BinaryIO, passphrase: str) -> None:
    """Write `source`, encrypted under `passphrase`, to `destination`."""
    salt, prefix = os.urandom(16), os.urandom(7)
    key, check = _derive(passphrase, salt, _SCRYPT_LOG2_N, _SCRYPT_R, _SCRYPT_P)
    header = _HEADER.pack(
        MAGIC, VERSION, _SCRYPT_LOG2_N, _SCRYPT_R, _SCRYPT_P, CHUNK_SIZE, salt, prefix, check
    )
    destination.write(header)
    cipher = AESGCM(key)
    counter = 0
    current = _read_up_to(source, CHUNK_SIZE)
    while True:
        # One chunk of look-ahead: the last chunk is only known once the next read is empty.
        following = _read_up_to(source, CHUNK_SIZE)
        last = not following
        destination.write(cipher.encrypt(_nonce(prefix, counter, last), current, header))
        if last:
            return
        current, counter = following, counter + 1


def decrypt_stream(source: BinaryIO, destination: BinaryIO, passphrase: str) -> None:
    """Write the plaintext of `source` to `destination`, or raise before the end if any
    part of it is wrong. A caller must discard what was written when this raises."""
    header = source.read(_HEADER.size)
    if not is_encrypted(header):
        raise DamagedBackup("not an encrypted finance-bot backup (unknown header)")
    if len(header) < _HEADER.size:
        raise DamagedBackup("encrypted backup is truncated: its header is incomplete")
    _, version, log2_n, r, p, chunk_size, salt, prefix, check = _HEADER.unpack(header)
    if version != VERSION:
        raise DamagedBackup(f"encrypted backup format version {version} is not supported")
    if not (1 <= log2_n <= _MAX_LOG2_N and 1 <= r <= 32 and 1 <= p <= 16):
        raise DamagedBackup("encrypted backup header is damaged (key derivation parameters)")
    if not 1 <= chunk_size <= _MAX_CHUNK_SIZE:
        raise DamagedBackup("encrypted backup header is damaged (chunk size)")
    key, expected_check = _derive(passphrase, salt, log2_n, r, p)
    if not hmac.compare_digest(check, expected_check):
        raise WrongPassphrase("wrong passphrase for this backup (BACKUP_PASSPHRASE)")
    cipher = AESGCM(key)
    sealed_size = chunk_size + _TAG_SIZE
    counter = 0
    current = _read_up_to(source, sealed_size)
    while True:
        following = _read_up_to(source, sealed_size)
        last = not following
        if not last and len(current) != sealed_size:
            raise DamagedBackup(f"encrypted backup is damaged at chunk {counter}")
        try:
            plaintext = cipher.decrypt(_nonce(prefix, counter, last), current, header)
        except InvalidTag:
            raise DamagedBackup(
                f"encrypted backup is truncated or damaged (chunk {counter} fails authentication)"
            ) from None
        destination.write(plaintext)
        if last:
            return
        current, counter = following, counter + 1


def _derive(passphrase: str, salt: bytes, log2_n: int, r: int, p: int) -> tuple[bytes, bytes]:
    material = Scrypt(salt=salt, length=2 * _KEY_SIZE, n=2**log2_n, r=r, p=p).derive(
        passphrase.encode("utf-8")
    )
    return material[:_KEY_SIZE], material[_KEY_SIZE:]


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    if counter >= 2**32:
        raise ValueError("backup too large for one encrypted stream")
    return prefix + struct.pack(">IB", counter, 1 if last else 0)


def _read_up_to(source: BinaryIO, size: int) -> bytes:
    """`size` bytes, or fewer only at the end of the stream (pipes return short reads)."""
    parts: list[bytes] = []
    wanted = size
    while wanted:
        part = source.read(wanted)
        if not part:
            break
        parts.append(part)
        wanted -= len(part)
    return b"".join(parts)
