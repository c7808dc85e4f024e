from __future__ import annotations

from pathlib import Path

import pytest

from hotline.app import ami_servers
from hotline.settings import SettingsError, load_settings


def test_defaults_need_no_file_and_no_environment() -> None:
    settings = load_settings(environ={})
    assert settings.ami.host == ""
    assert settings.ami.port == 5038
    assert settings.db.url.startswith("sqlite+aiosqlite:///")
    assert settings.http.host == "127.0.0.1"


def test_file_values_are_read_and_environment_overrides_them(tmp_path: Path) -> None:
    path = tmp_path / "hotline.toml"
    path.write_text('timezone = "UTC"\n[ami]\nhost = "10.0.0.5"\nport = 5039\n[db]\necho = true\n')
    settings = load_settings(path, environ={"HOTLINE_AMI_PORT": "6000", "HOTLINE_ACD_WRAPUP_S": "30.5"})
    assert settings.timezone == "UTC"
    assert settings.ami.host == "10.0.0.5"
    assert settings.ami.port == 6000
    assert settings.db.echo is True
    assert settings.acd.wrapup_s == 30.5


def test_secret_is_read_from_a_file_and_never_shown_in_repr(tmp_path: Path) -> None:
    secret_file = tmp_path / "ami-secret"
    secret_file.write_text("s3cr3t\n")
    settings = load_settings(environ={"HOTLINE_AMI_SECRET_FILE": str(secret_file)})
    assert settings.ami.secret == "s3cr3t"
    assert "s3cr3t" not in repr(settings)


@pytest.mark.parametrize(
    ("text", "environ", "message"),
    [
        ("[ami]\nhots = 'x'\n", {}, "unknown setting 'hots'"),
        ("[ami]\nport = 'abc'\n", {}, "expected a int"),
        ("ami = 3\n", {}, "[ami] must be a table"),
        ("timezone = \n", {}, "not valid TOML"),
        ("", {"HOTLINE_DB_ECHO": "perhaps"}, "HOTLINE_DB_ECHO: expected true or false"),
    ],
)
def test_bad_settings_name_the_key_and_the_problem(
    tmp_path: Path, text: str, environ: dict[str, str], message: str
) -> None:
    path = tmp_path / "hotline.toml"
    path.write_text(text)
    with pytest.raises(SettingsError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_settings(path, environ=environ)


def test_missing_settings_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot read settings file"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_trusted_proxies_are_a_list_in_a_file_and_comma_separated_in_the_environment(tmp_path: Path) -> None:
    assert load_settings(environ={}).http.trusted_proxies == []
    path = tmp_path / "hotline.toml"
    path.write_text('[http]\ntrusted_proxies = ["10.0.0.5", "192.168.1.0/24"]\n')
    assert load_settings(path, environ={}).http.trusted_proxies == ["10.0.0.5", "192.168.1.0/24"]
    environ = {"HOTLINE_HTTP_TRUSTED_PROXIES": "10.0.0.5, ::1,"}
    assert load_settings(path, environ=environ).http.trusted_proxies == ["10.0.0.5", "::1"]
    path.write_text("[http]\ntrusted_proxies = 5\n")
    with pytest.raises(SettingsError, match="trusted_proxies: expected a list"):
        load_settings(path, environ={})


def test_several_asterisk_servers_are_named_and_share_the_first_ones_account(tmp_path: Path) -> None:
    path = tmp_path / "hotline.toml"
    path.write_text(
        '[ami]\nhost = "10.0.0.10"\nname = "bj"\nsecret = "s"\n'
        'servers = ["sh = 10.0.1.10", "gz=10.0.2.10:5040"]\n',
        encoding="utf-8",
    )
    servers = ami_servers(load_settings(path, environ={}))
    assert [(name, c.host, c.port, c.secret) for name, c in servers] == [
        ("bj", "10.0.0.10", 5038, "s"),
        ("sh", "10.0.1.10", 5038, "s"),
        ("gz", "10.0.2.10", 5040, "s"),
    ]
    environ = {
        "HOTLINE_AMI_HOST": "pbx",
        "HOTLINE_AMI_NAME": "a",
        "HOTLINE_AMI_SERVERS": "b=pbx2,c=pbx3:5039",
    }
    assert [name for name, _ in ami_servers(load_settings(None, environ=environ))] == ["a", "b", "c"]
    assert [name for name, _ in ami_servers(load_settings(None, environ={}))] == [""]  # one, unnamed
    one_unnamed = {"HOTLINE_AMI_HOST": "pbx", "HOTLINE_AMI_SERVERS": "sh=pbx2"}  # a site that grew
    assert [name for name, _ in ami_servers(load_settings(None, environ=one_unnamed))] == ["", "sh"]


@pytest.mark.parametrize(
    ("environ", "problem"),
    [
        ({"HOTLINE_AMI_SERVERS": "=10.0.1.10"}, "is not systemname=host"),  # only the first may be unnamed
        ({"HOTLINE_AMI_NAME": "bj", "HOTLINE_AMI_SERVERS": "bj=10.0.1.10"}, "share a systemname"),
        ({"HOTLINE_AMI_NAME": "bj", "HOTLINE_AMI_SERVERS": "10.0.1.10"}, "is not systemname=host"),
        ({"HOTLINE_AMI_NAME": "bj", "HOTLINE_AMI_SERVERS": "sh=10.0.1.10:port"}, "is not systemname=host"),
        ({"HOTLINE_AMI_NAME": "bj", "HOTLINE_AMI_SERVERS": "s/h=10.0.1.10"}, "letters, digits"),
    ],
)
def test_badly_named_servers_are_a_clear_error(environ: dict[str, str], problem: str) -> None:
    with pytest.raises(SettingsError, match=problem):
        ami_servers(load_settings(None, environ={"HOTLINE_AMI_HOST": "10.0.0.10", **environ}))
