"""``kit trajectory`` and ``kit retention`` on a data directory."""

from __future__ import annotations

from kit.cli.main import main
from appliance.trajectory import Trajectories


def test_cli_walks_and_reports(kit, tmp_path, capsys):
    question = tmp_path / "q.txt"
    question.write_text("leervraag-cli-1d2e\n")
    data = ["--data", str(kit.data_dir)]
    assert main(["trajectory", "new", "--teacher", "Anna", "--coach", "Bram", "--recordings", "2",
                 "--question-file", str(question), *data]) == 0
    tid = capsys.readouterr().out.split()[0]
    assert main(["trajectory", "intake", tid, *data]) == 0
    assert "intake_done" in capsys.readouterr().out
    kit.press_and_record(0.8)
    assert main(["trajectory", "show", tid, *data]) == 0
    out = capsys.readouterr().out
    assert "baseline_recorded" in out and "baseline" in out and "leervraag-cli" not in out
    assert main(["trajectory", "close", tid, *data]) == 1
    assert "cannot close" in capsys.readouterr().err
    assert main(["trajectory", "new", "--teacher", "Anna", "--coach", "Bram", "--recordings", "9", *data]) == 1
    assert "1 to 5" in capsys.readouterr().err
    assert main(["retention", "status", *data]) == 0
    assert "policy: delete 30 days after a trajectory closes" in capsys.readouterr().out
    doc = Trajectories(kit.catalogue, kit.data_dir).private(tid, [kit.identity("Bram")])
    assert doc["learning_question"] == "leervraag-cli-1d2e"
