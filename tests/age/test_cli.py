"""``kit age`` end to end, as a person or a script would run it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from appliance import age

from .helpers import require_age, run_with_terminal

KIT = [sys.executable, "-m", "kit", "age"]


def kit(*args, input: bytes | None = None, cwd=None):
    return subprocess.run([*KIT, *map(str, args)], input=input, capture_output=True, timeout=120, cwd=cwd)


def assert_one_line_error(result, text: str):
    assert result.returncode != 0
    err = result.stderr.decode()
    assert "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith("kit: "), err
    assert text in err, err


@pytest.fixture
def keyfile(tmp_path):
    path = tmp_path / "key.txt"
    result = kit("keygen", "-o", path)
    assert result.returncode == 0, result.stderr
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    return path


def test_keygen_refuses_to_overwrite(keyfile):
    assert_one_line_error(kit("keygen", "-o", keyfile), "already exists")


def test_keygen_to_stdout_is_an_identity_file():
    result = kit("keygen")
    assert result.returncode == 0
    identity = age.read_identities(result.stdout.decode())[0]
    assert f"# public key: {identity.recipient}" in result.stdout.decode()


def test_encrypt_decrypt_files_and_pipes_with_age_both_ways(keyfile, tmp_path):
    recipient = str(age.read_identities(keyfile)[0].recipient)
    plain = os.urandom(300_000)
    src = tmp_path / "in.bin"
    src.write_bytes(plain)
    # kit encrypt (file → file), age decrypts
    assert kit("encrypt", "-r", recipient, "-o", tmp_path / "a.age", src).returncode == 0
    out = subprocess.run([require_age(), "-d", "-i", keyfile, tmp_path / "a.age"], capture_output=True)
    assert out.stdout == plain
    # age encrypts, kit decrypts (stdin → stdout)
    enc = subprocess.run([require_age(), "-r", recipient], input=plain, capture_output=True).stdout
    result = kit("decrypt", "-i", keyfile, input=enc)
    assert result.returncode == 0 and result.stdout == plain
    # recipients file, stdin → stdout
    rfile = tmp_path / "recipients.txt"
    rfile.write_text(f"# teacher\n{recipient}\n")
    enc = kit("encrypt", "-R", rfile, input=plain).stdout
    assert kit("decrypt", "-i", keyfile, input=enc).stdout == plain


def test_passphrase_file_round_trip_and_wrong_passphrase(tmp_path):
    (tmp_path / "pw").write_text("correct horse\n")
    (tmp_path / "bad").write_text("battery staple\n")
    enc = kit("encrypt", "-p", "--passphrase-file", tmp_path / "pw", "--work-factor", "10", input=b"notes")
    assert enc.returncode == 0, enc.stderr
    assert kit("decrypt", "--passphrase-file", tmp_path / "pw", input=enc.stdout).stdout == b"notes"
    assert_one_line_error(kit("decrypt", "--passphrase-file", tmp_path / "bad", input=enc.stdout), "incorrect passphrase")


def test_passphrase_from_terminal_opens_with_age(tmp_path):
    src = tmp_path / "in.txt"
    src.write_bytes(b"from the terminal")
    enc = tmp_path / "p.age"
    code, tty = run_with_terminal(
        [sys.executable, "-m", "kit", "age", "encrypt", "-p", "-o", str(enc), str(src)], ["pw 1", "pw 1"]
    )
    assert code == 0, tty
    out = tmp_path / "out.txt"
    code, tty = run_with_terminal([require_age(), "-d", "-o", str(out), str(enc)], ["pw 1"])
    assert code == 0, tty
    assert out.read_bytes() == b"from the terminal"


def test_passphrase_mismatch_on_terminal(tmp_path):
    code, tty = run_with_terminal(
        [sys.executable, "-m", "kit", "age", "encrypt", "-p", "-o", str(tmp_path / "x.age"), "/etc/hostname"],
        ["one", "two"],
    )
    assert code == 1 and b"kit: the two passphrases differ" in tty
    assert not (tmp_path / "x.age").exists()


def test_passphrase_protected_identity_file(tmp_path):
    identity = age.generate_identity()
    (tmp_path / "key.age").write_bytes(age.wrap_identity(identity, "pw", work_factor=10))
    (tmp_path / "pw").write_text("pw\n")
    enc = kit("encrypt", "-r", identity.recipient, input=b"wrapped").stdout
    result = kit("decrypt", "-i", tmp_path / "key.age", "--passphrase-file", tmp_path / "pw", input=enc)
    assert result.returncode == 0 and result.stdout == b"wrapped"


def test_user_mistakes_are_one_line(keyfile, tmp_path):
    other = tmp_path / "other.txt"
    kit("keygen", "-o", other)
    recipient = str(age.read_identities(keyfile)[0].recipient)
    enc = kit("encrypt", "-r", recipient, input=b"x" * 100_000).stdout
    assert_one_line_error(kit("decrypt", "-i", other, input=enc), "no identity matched")
    assert_one_line_error(kit("encrypt", "-r", "age1notakey", input=b""), "malformed recipient")
    assert_one_line_error(kit("encrypt", input=b""), "no recipients")
    assert_one_line_error(kit("decrypt", "-i", tmp_path / "nope.txt", input=enc), "cannot read identity file")
    assert_one_line_error(kit("decrypt", "-i", keyfile, tmp_path / "nope.age"), "cannot open")
    assert_one_line_error(kit("decrypt", "-i", keyfile, input=b"hello"), "not an age file")
    corrupt = bytearray(enc)
    corrupt[-50] ^= 1
    out = tmp_path / "out.bin"
    assert_one_line_error(kit("decrypt", "-i", keyfile, "-o", out, input=bytes(corrupt)), "failed to authenticate")
    assert not out.exists()  # partial plaintext of a bad file is not left behind
    header = bytearray(enc)
    header[30] ^= 1
    assert_one_line_error(kit("decrypt", "-i", keyfile, input=bytes(header)), "")


def test_full_disk_is_one_line(keyfile):
    recipient = str(age.read_identities(keyfile)[0].recipient)
    with open("/dev/full", "wb") as full:
        result = subprocess.run(
            [*KIT, "encrypt", "-r", recipient], input=os.urandom(3_000_000), stdout=full, stderr=subprocess.PIPE
        )
    assert result.returncode == 1
    assert result.stderr.decode().startswith("kit: cannot write output: No space left on device")
    assert "Traceback" not in result.stderr.decode()


def test_salvage_command(keyfile, tmp_path):
    identity = age.read_identities(keyfile)[0]
    plain = os.urandom(4 * 65536 + 100)
    cut = tmp_path / "cut.age"
    with open(cut, "wb") as f:
        w = age.Encryptor(f, [identity.recipient])
        w.write(plain)
        w.abort()
    assert_one_line_error(kit("decrypt", "-i", keyfile, cut), "truncated")
    out = tmp_path / "salvaged.bin"
    result = kit("decrypt", "-i", keyfile, "--salvage", "-o", out, cut)
    assert result.returncode == 3
    assert "SALVAGED" in result.stderr.decode()
    assert out.read_bytes() == plain[: 4 * 65536]


def test_ctrl_c_while_reading_a_pipe_exits_promptly(keyfile):
    """The decryptor reads ahead on a helper thread; Ctrl+C must still end kit at once."""
    import signal
    import time

    recipient = str(age.read_identities(keyfile)[0].recipient)
    enc = kit("encrypt", "-r", recipient, input=os.urandom(3 * 65536)).stdout
    # Ctrl+C as at a terminal: a test run started in the background inherits
    # SIGINT ignored, and Python then never installs its handler.
    proc = subprocess.Popen([*KIT, "decrypt", "-i", str(keyfile)], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    proc.stdin.write(enc[: len(enc) // 2])  # the rest never comes: the writer is still "recording"
    proc.stdin.flush()
    time.sleep(1.5)  # let it start, read the header and block on the pipe
    proc.send_signal(signal.SIGINT)
    try:
        code = proc.wait(timeout=20)
    finally:
        proc.kill()
        proc.stdin.close()
    assert code == 130
    assert proc.stderr.read().decode().strip() == "kit: interrupted"
