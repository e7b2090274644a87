"""Keys, Bech32, key files and passphrase-wrapped identities."""

from __future__ import annotations

import pytest

from appliance import age
from appliance.age import bech32

# From the CCTV x25519 vector (identity) and age's own documentation style.
KNOWN_IDENTITY = "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0"


def test_identity_round_trip_is_exact():
    identity = age.parse_identity(KNOWN_IDENTITY)
    assert str(identity) == KNOWN_IDENTITY
    assert age.parse_recipient(str(identity.recipient)) == identity.recipient
    assert str(identity.recipient).startswith("age1") and len(str(identity.recipient)) == 62


def test_bech32_checksum_and_case_rules():
    s = bech32.encode("age", bytes(range(32)))
    assert bech32.decode(s) == ("age", bytes(range(32)))
    with pytest.raises(age.KeyFormatError, match="checksum"):
        bech32.decode(s[:-1] + ("q" if s[-1] != "q" else "p"))
    with pytest.raises(age.KeyFormatError, match="mixed case"):
        bech32.decode(s[:10] + s[10:].upper())
    with pytest.raises(age.KeyFormatError, match="invalid character"):
        bech32.decode(s[:-3] + "b" + s[-2:])  # 'b' is not in the Bech32 alphabet


def test_case_rules_like_age():
    identity = age.generate_identity()
    with pytest.raises(age.KeyFormatError):
        age.parse_identity(str(identity).lower())  # identities are uppercase only
    with pytest.raises(age.KeyFormatError, match="mixed case"):
        age.parse_identity(str(identity)[:-5] + str(identity)[-5:].lower())
    with pytest.raises(age.KeyFormatError):
        age.parse_recipient(str(identity.recipient).upper())  # hrp "AGE" is not "age"


def test_bad_keys_have_clear_messages():
    with pytest.raises(age.KeyFormatError, match="SSH recipients are not supported"):
        age.parse_recipient("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI")
    with pytest.raises(age.KeyFormatError, match="unknown recipient type"):
        age.parse_recipient("bob@example.org")
    with pytest.raises(age.KeyFormatError, match="not an age identity"):
        age.parse_identity("age1qqqq")
    with pytest.raises(age.KeyFormatError) as exc:
        age.parse_identity(KNOWN_IDENTITY[:-1] + "Q")
    assert KNOWN_IDENTITY[20:] not in str(exc.value)  # never echo a secret


def test_identity_repr_hides_secret():
    identity = age.generate_identity()
    assert str(identity) not in repr(identity)
    assert str(identity.recipient) in repr(identity)


def test_identity_file_comments_blank_lines_several_keys(tmp_path):
    a, b = age.generate_identity(), age.generate_identity()
    text = f"# created: now\n# public key: {a.recipient}\n{a}\n\n   \n# second\n{b}\n"
    path = tmp_path / "keys.txt"
    path.write_text(text)
    for source in (text, path, str(path), text.encode()):
        assert [i.recipient for i in age.read_identities(source)] == [a.recipient, b.recipient]


def test_key_file_errors_name_the_line(tmp_path):
    a = age.generate_identity()
    with pytest.raises(age.KeyFormatError, match="line 3"):
        age.read_identities(f"# x\n{a}\nAGE-SECRET-KEY-1BROKEN\n")
    with pytest.raises(age.KeyFormatError, match="line 2"):
        age.read_recipients(f"{a.recipient}\nage1notakey\n")
    with pytest.raises(age.KeyFormatError, match="no recipients"):
        age.read_recipients("# only a comment\n")
    with pytest.raises(age.KeyFormatError, match="cannot read"):
        age.read_identities(tmp_path / "missing.txt")
    wrapped = tmp_path / "wrapped.age"
    wrapped.write_bytes(age.wrap_identity(a, "pw", work_factor=10))
    with pytest.raises(age.KeyFormatError, match="passphrase-protected"):
        age.read_identities(wrapped)


def test_wrap_unwrap_identity():
    identity = age.generate_identity()
    wrapped = age.wrap_identity(identity, "hunter2 hunter2", work_factor=12)
    assert wrapped.startswith(b"age-encryption.org/v1\n-> scrypt ")
    assert b" 12\n" in wrapped.split(b"\n---")[0]
    assert str(identity).encode() not in wrapped
    assert age.unwrap_identity(wrapped, "hunter2 hunter2").recipient == identity.recipient
    with pytest.raises(age.IncorrectPassphrase):
        age.unwrap_identity(wrapped, "hunter3")
    assert issubclass(age.IncorrectPassphrase, age.NoIdentityMatch)


def test_default_work_factor_is_18():
    wrapped = age.wrap_identity(age.generate_identity(), "pw")
    assert wrapped.split(b"\n")[1].endswith(b" 18")


def test_work_factor_above_maximum_is_refused_quickly():
    wrapped = age.wrap_identity(age.generate_identity(), "pw", work_factor=14)
    with pytest.raises(age.WorkFactorTooHigh, match="work factor 14 is above the maximum of 12"):
        age.unwrap_identity(wrapped, "pw", max_work_factor=12)
    assert issubclass(age.WorkFactorTooHigh, age.HeaderError)


def test_passphrase_cannot_be_mixed_with_recipients():
    with pytest.raises(age.AgeError, match="cannot be combined"):
        age.Encryptor(__import__("io").BytesIO(), [age.ScryptRecipient("pw", 10), age.generate_identity().recipient])


def test_errors_are_kit_errors():
    from appliance.errors import KitError

    for cls in (age.NoIdentityMatch, age.HeaderError, age.HMACError, age.PayloadError, age.KeyFormatError):
        assert issubclass(cls, age.AgeError) and issubclass(cls, KitError)
