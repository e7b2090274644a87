"""lessonkit.toml: good files are read, every kind of bad file gets one clear line."""

from pathlib import Path

import pytest

from appliance.errors import KitError
from appliance.provisioning.config import (
    ProvisioningConfig,
    ProvisioningFileError,
    parse_provisioning_text,
    read_provisioning_file,
)

HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMmyYk6wRlGs+UwNxE2fD7eoobRA2gp9uZwdgwQNnP3k"
HASH = "$y$j9T$5i0Y1aNq3rZqJc7wC8N1l/$Z2p5nQ0E6yP0a7C7Y0TtG9Ww1pN6x7mQ3kqzj3gKQ26"

GOOD = f"""
[school_server]
address = "sync.school.example"
host_key = "{HOST_KEY} root@server"
user = "kits"

[admin]
password_hash = "{HASH}"
authorized_keys = ["{HOST_KEY} it@school"]

[hotspot]
country = "de"
"""


def test_full_file_is_read():
    cfg = parse_provisioning_text(GOOD)
    assert cfg.server.host == "sync.school.example"
    assert cfg.server.port == 22
    assert cfg.server.user == "kits"
    assert cfg.server.host_key == HOST_KEY  # comment dropped
    assert cfg.admin_password_hash == HASH
    assert cfg.admin_authorized_keys == (HOST_KEY,)
    assert cfg.hotspot_country == "DE"


def test_missing_file_means_defaults(tmp_path: Path):
    assert read_provisioning_file(tmp_path) == ProvisioningConfig()
    assert ProvisioningConfig().hotspot_country == "NL"


def test_bom_from_windows_editor_is_accepted(tmp_path: Path):
    (tmp_path / "lessonkit.toml").write_bytes(b"\xef\xbb\xbf" + b'[hotspot]\ncountry = "BE"\n')
    assert read_provisioning_file(tmp_path).hotspot_country == "BE"


@pytest.mark.parametrize(
    "address, host, port",
    [("10.0.0.5:2222", "10.0.0.5", 2222), ("[fd00::5]:22", "fd00::5", 22), ("[fd00::5]", "fd00::5", 22), ("srv", "srv", 22)],
)
def test_addresses(address, host, port):
    cfg = parse_provisioning_text(f'[school_server]\naddress = "{address}"\nhost_key = "{HOST_KEY}"\n')
    assert (cfg.server.host, cfg.server.port) == (host, port)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("[hotspot\ncountry='NL'", "not valid TOML"),
        ('[hotspot]\ncountry = "NLD"', "two-letter country code"),
        ("[hotspot]\ncountry = 31", "non-empty string"),
        ('hotspot = "NL"', "[hotspot] must be a table"),
        ('[wifi]\nssid = "x"', "unknown section or key 'wifi'"),
        ('[school_server]\naddress = "s.example"', "needs both address and host_key"),
        (f'[school_server]\naddress = "s.example:99999"\nhost_key = "{HOST_KEY}"', "invalid port"),
        (f'[school_server]\naddress = "bad host!"\nhost_key = "{HOST_KEY}"', "not a host name"),
        ('[school_server]\naddress = "s.example"\nhost_key = "AAAAC3NzaC1lZDI1NTE5"', "must be an OpenSSH public key line"),
        ('[school_server]\naddress = "s.example"\nhost_key = "ssh-ed25519 AAAAnotbase64!!"', "not a valid OpenSSH public key"),
        (f'[school_server]\naddress = "s.example"\nhost_key = "{HOST_KEY}"\nuser = "Root Admin"', "not a valid user name"),
        ('[admin]\npassword_hash = "hunter2"', "never the password itself"),
        ('[admin]\nauthorized_keys = "ssh-ed25519 AAAA"', "must be a list"),
        ('[admin]\nauthorized_keys = ["ssh-dss AAAA"]', "[admin] authorized_keys must be an OpenSSH public key line"),
    ],
)
def test_bad_input_is_one_clear_line(text, fragment):
    with pytest.raises(ProvisioningFileError) as info:
        parse_provisioning_text(text)
    message = str(info.value)
    assert isinstance(info.value, KitError)
    assert message.startswith("lessonkit.toml: ")
    assert fragment in message
    assert "\n" not in message


def test_password_never_echoed_back():
    with pytest.raises(ProvisioningFileError) as info:
        parse_provisioning_text('[admin]\npassword_hash = "Sup3rSecret!"')
    assert "Sup3rSecret" not in str(info.value)


def test_binary_garbage_file(tmp_path: Path):
    (tmp_path / "lessonkit.toml").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ProvisioningFileError, match="not UTF-8"):
        read_provisioning_file(tmp_path)
