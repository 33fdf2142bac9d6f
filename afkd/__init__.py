"""afkd: AF f-wave extraction by a distilled DT-FENet, from PyTorch to a Cortex-M microcontroller."""

__version__ = "0.1.0"
