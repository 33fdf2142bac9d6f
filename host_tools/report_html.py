"""The self-contained HTML page of a validation report.

One file, no external resources: images are base64 PNG data URIs (:mod:`.report_plots`), the CSS is
inline, and the only script is a few lines that mark, in the DOM, how many images decoded (the
headless-browser test reads that marker). The Jinja2 template in ``templates/`` holds structure
only; every figure comes from the report dict.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"


def _fmt(value: Any, spec: str = ".4g", unit: str = "") -> str:
    import jinja2

    from afkd.host_tools.report import _fmt as fmt  # one formatting rule for every report

    return fmt(None if isinstance(value, jinja2.Undefined) else value, spec, unit)


def render_html(report: Mapping, traces: Sequence[Mapping] = ()) -> str:
    """HTML text for ``report`` (the :func:`.report.build_report` dict) with plots of ``traces``.

    ``traces``: per segment ``{"id", "fs", "ecg", "aa", "va", ["aa_reference", "aa_true", "va_true"]}``,
    1-D float mV arrays; the first four get signal and spectrum plots.
    """
    import jinja2

    from afkd.export.saturation import mv_range, range_line
    from afkd.host_tools.report_plots import report_plots

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
                             autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["fmt"] = _fmt
    fidelity = report.get("fidelity") or {}
    return env.get_template("report.html.j2").render(
        report=report,
        exact=fidelity.get("vs_tflite") or {},
        torch=fidelity.get("vs_torch") or {},
        streaming=fidelity.get("streaming"),
        quality=report.get("quality") or {},
        footprint=report.get("footprint") or {},
        timing=report.get("timing") or {},
        checks=report.get("checks") or {},
        range_summary=range_line(report["range"]) if report.get("range") else "",
        input_range=mv_range(report["range"]["input_range_mv"]) if report.get("range") else "",
        plots=report_plots(report, traces),
    )
