"""The Python API (afkd/api.py), and README.md's example run as written."""

import re

import numpy as np
import pytest

import afkd
from afkd.errors import AfkdError
from tests.conftest import REPO


def _readme_python() -> str:
    blocks = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    assert len(blocks) == 1, "README.md should hold one Python example"
    return blocks[0]


@pytest.mark.slow
def test_the_readme_python_example_runs(tmp_path, monkeypatch, capsys):
    (tmp_path / "models").symlink_to(REPO / "models")
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(_readme_python(), "README.md", "exec"), scope)
    aa, va, ecg = scope["aa"], scope["va"], scope["ecg"]
    assert aa.shape == va.shape == ecg.shape and aa.dtype == np.float32
    assert re.match(r"SNR_AA -?\d+\.\d dB, ABS -?\d+\.\d dB", capsys.readouterr().out)
    assert scope["manifest"]["target"] == "onnx" and (tmp_path / "api_demo" / "onnx" / "export.json").is_file()
    # the trained student separates: better than returning nothing (0 dB) on its own kind of data
    assert scope["scores"]["models/student_fitnet.pt"]["snr_aa_db"] > 3.0


def test_import_afkd_is_light_and_lists_the_api():
    import subprocess
    import sys

    code = "import sys, afkd; print('torch' in sys.modules, 'tensorflow' in sys.modules, afkd.__dir__())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.startswith("False False") and "export_model" in out and "load_model" in out


def test_predict_checks_its_input_and_keeps_alignment():
    model = afkd.load_model(REPO / "models" / "student_fitnet.pt")
    with pytest.raises(AfkdError, match="ecg 0: expected a non-empty 1-D array of finite mV"):
        afkd.predict(model, np.array([0.0, np.nan, 1.0]))
    ecg = np.random.default_rng(0).standard_normal(1234).astype(np.float32) * 0.1
    aa, va = afkd.predict(model, ecg)
    pairs = afkd.predict(model, [ecg, ecg[:500]])
    assert aa.shape == (1234,) and np.array_equal(pairs[0][0], aa) and pairs[1][0].shape == (500,)


def test_an_unknown_option_names_itself(tmp_path):
    with pytest.raises(AfkdError, match="afkd.export: no option 'colour'"):
        afkd.export_model(REPO / "models" / "student_fitnet.pt", tmp_path / "x", target="onnx", colour="red")
    with pytest.raises(AttributeError):
        afkd.no_such_function
