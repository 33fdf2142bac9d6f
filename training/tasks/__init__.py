"""Training tasks: what differs between the f-wave separator, the rhythm detectors and the beat
classifier, behind one interface (:class:`~afkd.training.tasks.base.Task`) that the trainer runs."""

from __future__ import annotations

from afkd.errors import AfkdError

TASKS = ("separation", "rhythm", "beats")


def make_task(name: str, settings, model, teacher_path=None):
    """The task object for ``name`` (separation, rhythm, beats) training ``model``."""
    if name == "separation":
        from afkd.training.tasks.separation import SeparationTask

        return SeparationTask(settings, model, teacher_path)
    if name == "rhythm":
        from afkd.training.tasks.rhythm import RhythmTask

        return RhythmTask(settings, model)
    if name == "beats":
        from afkd.training.tasks.beats import BeatsTask

        return BeatsTask(settings, model)
    raise AfkdError(f"--task {name}: choose one of {', '.join(TASKS)}")
