"""The hashed locks agree with pyproject.toml's pins, and every locked package has a hash."""

from __future__ import annotations

import re
import tomllib

import pytest

from tests.deploy.tools import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^;\s]+)")
LOCKED = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)(?: ; [^\\\n]+)? \\$", re.MULTILINE)


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(requirements: list[str]) -> dict[str, str]:
    found = {}
    for requirement in requirements:
        match = PIN.match(requirement)
        assert match, f"{requirement!r} is not pinned with =="
        found[normal(match[1])] = match[2]
    return found


def locked(name: str) -> dict[str, str]:
    text = (ROOT / "requirements" / name).read_text(encoding="utf-8")
    return {normal(package): version for package, version in LOCKED.findall(text)}


RUNTIME = pins(PROJECT["dependencies"]) | pins(PROJECT["optional-dependencies"]["embedded"])
DEV = RUNTIME | pins(PROJECT["optional-dependencies"]["dev"])


@pytest.mark.parametrize(("lock", "wanted"), [("runtime.txt", RUNTIME), ("dev.txt", DEV)])
def test_the_lock_holds_every_pin_at_its_version(lock: str, wanted: dict[str, str]) -> None:
    have = locked(lock)
    for package, version in wanted.items():
        assert have.get(package) == version, f"{lock}: {package}=={version}; run `make lock`"


@pytest.mark.parametrize("lock", ["runtime.txt", "dev.txt"])
def test_every_locked_package_carries_a_hash(lock: str) -> None:
    text = (ROOT / "requirements" / lock).read_text(encoding="utf-8")
    entries = re.split(r"\n(?=\S)", text)
    requirements = [e for e in entries if LOCKED.match(e)]
    assert requirements
    for entry in requirements:
        assert "--hash=sha256:" in entry, entry.splitlines()[0]


FAVA = ROOT / "deploy" / "fava"


def test_the_fava_lock_holds_its_pin_and_a_hash_for_everything() -> None:
    """The `fava` compose service installs from deploy/fava/requirements.txt, which `make
    lock` compiles from the one pin in requirements.in beside it."""
    pin = pins(
        [
            line
            for line in (FAVA / "requirements.in").read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#")
        ]
    )
    text = (FAVA / "requirements.txt").read_text(encoding="utf-8")
    have = {normal(package): version for package, version in LOCKED.findall(text)}
    assert set(pin) == {"fava"}
    assert have["fava"] == pin["fava"], "deploy/fava: run `make lock`"
    entries = [e for e in re.split(r"\n(?=\S)", text) if LOCKED.match(e)]
    assert len(entries) == len(have) > 1
    for entry in entries:
        assert "--hash=sha256:" in entry, entry.splitlines()[0]
