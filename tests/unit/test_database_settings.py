"""The DATABASE_*_URL settings: a URL the driver would take apart elsewhere than meant is
refused as a bad setting, naming it and showing nothing of its value — not left for the
driver to report a piece of the password as the port it could not read, or to look one up
as a host name."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from finance_bot.config import Settings

SETTINGS = ("database_url", "database_owner_url", "database_backup_url", "database_admin_url")


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.mark.parametrize("setting", SETTINGS)
@pytest.mark.parametrize("mark", ["/", "#", "?", "@"])
def test_a_password_with_an_unescaped_mark_is_refused_without_showing_it(
    setting: str, mark: str
) -> None:
    url = f"postgresql://finance_bot_app:Hidden{mark}Rest@db.internal:5432/finance"
    with pytest.raises(ValidationError) as raised:
        settings(**{setting: url})
    error = str(raised.value)
    assert setting in error
    assert "percent-encode" in error
    for piece in ("Hidden", "Rest"):
        assert piece not in error


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://finance_bot_app:Hidden%2FRest@db.internal:5432/finance",  # encoded
        "postgresql://finance_bot_app:p%40ss@[::1]:5432/finance",
        "postgres://postgres@127.0.0.1/postgres",  # no port: the default one
        "postgresql:///finance?host=/run/postgresql",  # a Unix socket
        "postgresql://app@db1:5432,db2:5433/finance",  # several hosts
    ],
)
def test_urls_the_driver_takes_are_kept(url: str) -> None:
    found = settings(database_url=url)
    assert found.database_url is not None
    assert found.database_url.get_secret_value() == url
