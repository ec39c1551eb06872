"""Every file the package reads at run time ships in the wheel the Docker image installs.

An editable install reads src/ directly, so a data file missing from package-data passes
every other test and fails only in the image (grants.sql, the message catalogues).
"""

from __future__ import annotations

import glob
import tomllib

from tests.deploy.tools import ROOT

PACKAGE = ROOT / "src" / "finance_bot"


def test_every_data_file_is_in_package_data() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["finance_bot"]
    shipped = {name for pattern in patterns for name in glob.glob(pattern, root_dir=PACKAGE)}
    data_files = {
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc")
    }
    assert data_files, "found no data files at all: the walk looks in the wrong place"
    assert sorted(data_files - shipped) == []
