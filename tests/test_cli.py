import subprocess
import sys

from afkd import cli


def test_every_subcommand_has_help(capsys):
    for name in cli.SUBCOMMANDS:
        try:
            cli.main([name, "--help"])
        except SystemExit as exit:
            assert exit.code == 0, name
        out = capsys.readouterr().out
        assert "usage: afkd" in out, name


def test_no_command_prints_help_and_exits_2(capsys):
    assert cli.main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


def test_afkd_export_alias_is_export(capsys):
    try:
        cli.export_alias(["--help"])
    except SystemExit:
        pass
    assert "usage: afkd export" in capsys.readouterr().out


def test_console_script_runs():
    out = subprocess.run([sys.executable, "-m", "afkd", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("afkd ")
