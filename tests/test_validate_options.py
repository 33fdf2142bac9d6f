"""``afkd validate`` refuses bad options before it touches the build or starts a firmware."""

import json

import pytest

from afkd import cli


def _validate(tmp_path, *extra):
    # The build folder does not exist: an option error must come first, naming the option.
    return cli.main(["validate", "--build", str(tmp_path / "no_build"), "--data", str(tmp_path / "no_data"), *extra])


@pytest.mark.parametrize("runner", ["qemu-arm", "serial:", "Host"])
def test_an_unknown_runner_is_refused_first(tmp_path, capsys, runner):
    assert _validate(tmp_path, "--runner", runner) == 2
    assert capsys.readouterr().err.strip() == (f"afkd validate: error: --runner {runner!r}: not a runner "
                                               "(host, qemu, renode or serial:PORT)")


@pytest.mark.parametrize("thresholds,message", [
    ({"max_flsh_bytes": 1}, "unknown key(s) max_flsh_bytes (known: bit_exact, "),
    ({"bit_exact": "yes"}, "bit_exact must be true or false, not 'yes'"),
    ({"max_ram_bytes": "16k"}, "max_ram_bytes must be a number, not '16k'"),
    ({"min_snr_aa_db": True}, "min_snr_aa_db must be a number, not True"),
])
def test_a_bad_thresholds_file_is_refused_first(tmp_path, capsys, thresholds, message):
    path = tmp_path / "t.json"
    path.write_text(json.dumps(thresholds))
    assert _validate(tmp_path, "--runner", "host", "--thresholds", str(path)) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"afkd validate: error: {path}: {message}") and "\n" not in err
