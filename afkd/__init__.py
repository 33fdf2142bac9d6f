"""afkd: AF f-wave extraction by a distilled DT-FENet, from PyTorch to a Cortex-M microcontroller.

The Python API (``afkd.load_model``, ``afkd.predict``, ``afkd.synthesize``, ``afkd.load_dataset``,
``afkd.evaluate``, ``afkd.export_model``, ``afkd.validate``) is in :mod:`afkd.api`; it is imported on
first use, so ``import afkd`` (and ``afkd --help``) stays free of torch and TensorFlow.
"""

__version__ = "0.1.0"

_API = ("load_model", "predict", "synthesize", "load_dataset", "evaluate", "export_model", "validate")


def __getattr__(name: str):
    if name in _API:
        from afkd import api

        return getattr(api, name)
    raise AttributeError(f"module 'afkd' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])
