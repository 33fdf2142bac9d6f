"""``afkd prune``'s rounds: prune, (rewind,) fine-tune, evaluate, decide; resumable after a kill.

Methods (every one a checkpoint-to-checkpoint transform; what comes out is an ordinary model):

- ``lth``: iterative magnitude pruning with rewinding (Frankle et al.; LTH-ECG). Round r
  prunes to sparsity ``1 - (1 - rate)^r`` of the prunable weights, by magnitude of the
  previous ticket's *trained* weights, resets the survivors to the rewind point's values
  (``--rewind CKPT``, an early checkpoint of the original training; default the starting
  model's own weights) and retrains them with the pruned weights held at zero.
- ``magnitude``: the same rounds without rewinding (prune, fine-tune the trained weights).
- ``multistage``: structured; stage k removes whole channels until ``sparsity * k / stages``
  of the parameters are gone (:mod:`afkd.training.pruning.structured`), rebuilds the smaller
  dense model and fine-tunes it. ``budget="macs"`` counts multiply-accumulates per example
  input instead (what the chip pays per inference), for structures that count them (BeatCNN).
- ``oneshot``: the structured baseline: one stage to ``sparsity`` with the fine-tuning of all
  the stages together.

**Goal-driven stop** (``--goal``): each round's model is measured by the task's evaluate
callback against the unpruned model on the same data. When a round breaks the goal, the rounds
stop; the sparsity between the last ticket that met the goal and the failed one is bisected
``search_steps`` times (each try starts again from the last good ticket), and the result is
the sparsest model that met the goal. The result is never a model that broke it: at worst the
unpruned model comes back. Without a goal every round runs and the last one is the result.

**Resuming**: the rows of finished rounds are in ``DIR/prune_state.json`` (written after each
round) with their models in ``DIR/rounds/``; the next round depends only on those rows, so a
rerun with the same settings continues where the killed one stopped and ends where an
uninterrupted run ends (every round is seeded by its number).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from afkd.atomic import atomic_write_bytes
from afkd.errors import AfkdError
from afkd.training.pruning.cost import model_cost
from afkd.training.pruning.goal import Goal
from afkd.training.pruning.magnitude import SCOPES, apply_masks, magnitude_masks
from afkd.training.pruning.masks import sparsity
from afkd.training.pruning.structured import select_channels, taylor_importance

METHODS = ("lth", "magnitude", "multistage", "oneshot")
BUDGETS = ("params", "macs")
STATE = "prune_state.json"


@dataclass(frozen=True)
class PruneSettings:
    method: str
    goal: str | None = None
    rate: float = 0.2  # lth/magnitude: share of the remaining weights each round prunes
    rounds: int = 10  # lth/magnitude: at most this many rounds
    scope: str = "global"  # lth/magnitude: global or per-layer magnitude ranking
    rewind: str | None = None  # lth: checkpoint to rewind to (None: the starting model)
    search_steps: int = 2  # bisection tries after a round breaks the goal
    sparsity: float = 0.6  # multistage/oneshot: share of the parameters removed at the end
    stages: int = 3  # multistage: stages (oneshot: fine-tunes for as long as all of them)
    finetune_epochs: int = 2  # per round or stage
    importance_batches: int = 8  # batches that measure channel importance
    multiple: int = 4  # structured: channels leave in units of this
    min_channels: int = 4  # structured: no group falls below this
    budget: str = "params"  # structured: what --sparsity removes a share of: parameters or MACs
    seed: int = 0

    def check(self) -> None:
        if self.method not in METHODS:
            raise AfkdError(f"--method {self.method}: choose one of {', '.join(METHODS)}")
        if not 0 < self.rate < 1:
            raise AfkdError(f"--rate {self.rate}: must be between 0 and 1")
        if not 0 < self.sparsity < 1:
            raise AfkdError(f"--sparsity {self.sparsity}: must be between 0 and 1")
        if self.scope not in SCOPES:
            raise AfkdError(f"--scope {self.scope}: choose one of {', '.join(SCOPES)}")
        for name in ("rounds", "stages", "multiple", "min_channels", "importance_batches"):
            if getattr(self, name) < 1:
                raise AfkdError(f"--{name.replace('_', '-')} {getattr(self, name)}: must be at least 1")
        if self.finetune_epochs < 0 or self.search_steps < 0:
            raise AfkdError("--finetune-epochs and --search-steps must be at least 0")
        if self.budget not in BUDGETS:
            raise AfkdError(f"--budget {self.budget}: choose one of {', '.join(BUDGETS)}")
        if self.budget != "params" and not self.structured:
            raise AfkdError(f"--budget {self.budget}: for the structured methods (multistage, oneshot)")
        if self.goal is not None:
            Goal.parse(self.goal)

    @property
    def structured(self) -> bool:
        return self.method in ("multistage", "oneshot")

    def schedule(self) -> list[float]:
        """The sparsity of each planned round (before any goal-driven search)."""
        if self.method == "oneshot":
            return [self.sparsity]
        if self.structured:
            return [self.sparsity * (k + 1) / self.stages for k in range(self.stages)]
        return [1.0 - (1.0 - self.rate) ** (r + 1) for r in range(self.rounds)]


def next_try(settings: PruneSettings, rows: list[dict]) -> tuple[float, int, str] | None:
    """(target sparsity, index of the parent row, kind) of the next round, or None when done.

    ``rows[0]`` is the unpruned model. A pure function of the finished rows: what makes a
    resumed run equal an uninterrupted one.
    """
    planned = settings.schedule()
    failed = [r for r in rows if not r["met"]]
    good = max((i for i, r in enumerate(rows) if r["met"]), key=lambda i: rows[i]["target"])
    if not failed:
        rounds_done = sum(1 for r in rows if r["kind"] == "round")
        return (planned[rounds_done], len(rows) - 1, "round") if rounds_done < len(planned) else None
    searches = sum(1 for r in rows if r["kind"] == "search")
    if searches >= settings.search_steps:
        return None
    low = rows[good]["target"]
    high = min(r["target"] for r in failed if r["target"] > low)
    return (low + high) / 2.0, good, "search"


def result_row(rows: list[dict]) -> int:
    """The sparsest row that met the goal (the unpruned row 0 at worst)."""
    return max((i for i, r in enumerate(rows) if r["met"]), key=lambda i: (rows[i]["target"], i))


class Pruner:
    """Runs the rounds of one ``afkd prune`` for a task (see :mod:`afkd.training.pruning.task`)."""

    def __init__(self, task, settings: PruneSettings, model_path: str | Path, out_dir: str | Path,
                 report: Callable[[str], None] = print):
        settings.check()
        self.task, self.settings, self.report = task, settings, report
        self.model_path, self.out = Path(model_path), Path(out_dir)
        self.goal = Goal.parse(settings.goal) if settings.goal else None
        if settings.structured and task.structure is None:
            raise AfkdError(f"--method {settings.method}: this model family has no channel structure to prune")
        if settings.budget == "macs" and not hasattr(task.structure, "mac_count"):
            raise AfkdError("--budget macs: this model family's channel structure counts parameters only")

    # -- state -------------------------------------------------------------------------
    def _identity(self) -> dict:
        return {"model": str(self.model_path), "settings": asdict(self.settings), "task": self.task.describe()}

    def _load_state(self) -> list[dict]:
        path = self.out / STATE
        if not path.is_file():
            if self.out.exists() and any(self.out.iterdir()):
                raise AfkdError(f"{self.out}: exists and is not an afkd prune directory (no {STATE}); "
                                "choose a new --out")
            return []
        state = json.loads(path.read_text())
        if state.get("identity") != json.loads(json.dumps(self._identity())):
            raise AfkdError(f"{self.out}: holds a prune with other settings or another model; choose a new --out")
        return state["rows"]

    def _save_state(self, rows: list[dict]) -> None:
        payload = {"format": "afkd-prune-state", "identity": self._identity(), "rows": rows}
        atomic_write_bytes(self.out / STATE, (json.dumps(payload, indent=1) + "\n").encode())

    # -- one round ---------------------------------------------------------------------
    def _measure(self, model: nn.Module) -> dict:
        cost = model_cost(model, self.task.example_input(model))
        return {**cost, "weight_sparsity": sparsity(model)["sparsity"], "metrics": self.task.evaluate(model)}

    def _row(self, kind: str, target: float, parent: int, model: nn.Module, baseline: dict | None, path: Path) -> dict:
        measured = self._measure(model)
        row = {"kind": kind, "target": target, "parent": parent, "checkpoint": str(path.relative_to(self.out)), **measured}
        if baseline is None:  # the unpruned model
            row.update(sparsity=0.0, goal_loss=0.0, met=True)
        else:
            budget = self.settings.budget  # structured: the share of parameters (or MACs) removed
            row["sparsity"] = (1.0 - measured[budget] / baseline[budget] if self.settings.structured
                               else measured["weight_sparsity"])
            row["goal_loss"] = None if self.goal is None else self.goal.loss(baseline["metrics"], measured["metrics"])
            row["met"] = True if self.goal is None else self.goal.met(baseline["metrics"], measured["metrics"])
        return row

    def _prune(self, parent: nn.Module, target: float, index: int, baseline: dict) -> nn.Module:
        """The parent pruned to ``target`` (not yet fine-tuned)."""
        s = self.settings
        if s.structured:
            structure = self.task.structure
            groups = structure.channel_groups(parent)
            losses = self.task.importance_losses(parent, s.importance_batches, seed=s.seed * 1000 + index)
            importance = taylor_importance(parent, groups, losses)
            count = structure.mac_count if s.budget == "macs" else structure.parameter_count
            keep = select_channels({g.name: g.size for g in groups}, importance,
                                   lambda widths: count(parent, widths),
                                   int(round(baseline[s.budget] * (1.0 - target))), s.multiple, s.min_channels)
            return structure.rebuild(parent, keep)
        masks = magnitude_masks(parent, target, s.scope)
        if s.method == "lth":
            child = self.task.load(s.rewind or self.model_path)
            if [k for k in child.state_dict()] != [k for k in parent.state_dict()] or any(
                    a.shape != b.shape for a, b in zip(child.state_dict().values(), parent.state_dict().values())):
                raise AfkdError(f"--rewind {s.rewind}: not the same architecture as {self.model_path}")
        else:
            child = parent  # magnitude: prune the trained weights themselves (parent is a fresh load)
        apply_masks(child, masks)
        return child

    # -- the run -----------------------------------------------------------------------
    def run(self) -> dict:
        rows = self._load_state()
        rounds_dir = self.out / "rounds"
        rounds_dir.mkdir(parents=True, exist_ok=True)
        if rows:
            self.report(f"resuming {self.out}: {len(rows) - 1} round(s) done")
        else:
            start = self.task.load(self.model_path)
            path = rounds_dir / "r00.pt"
            self.task.save(path, start, {"prune": {"round": 0}})
            rows.append(self._row("start", 0.0, -1, start, None, path))
            self._save_state(rows)
        self.report(format_row(0, rows[0], rows[0]))
        while (step := next_try(self.settings, rows)) is not None:
            target, parent_index, kind = step
            index = len(rows)
            work = rounds_dir / f"r{index:02d}.work"
            if work.exists():  # a killed round: start it again from its parent
                shutil.rmtree(work)
            parent = self.task.load(self.out / rows[parent_index]["checkpoint"])
            torch.manual_seed(self.settings.seed * 1000 + index)
            child = self._prune(parent, target, index, rows[0])
            epochs = self.settings.finetune_epochs * (self.settings.stages if self.settings.method == "oneshot" else 1)
            if epochs:
                child = self.task.finetune(child, work, epochs, keep_sparsity=not self.settings.structured,
                                           seed=self.settings.seed * 1000 + index)
            path = rounds_dir / f"r{index:02d}.pt"
            self.task.save(path, child, {"prune": {"round": index, "kind": kind, "target": target}})
            rows.append(self._row(kind, target, parent_index, child, rows[0], path))
            self._save_state(rows)
            if work.exists():
                shutil.rmtree(work)
            self.report(format_row(index, rows[index], rows[0]))
        return self._finish(rows)

    def _finish(self, rows: list[dict]) -> dict:
        chosen = result_row(rows)
        model = self.task.load(self.out / rows[chosen]["checkpoint"])
        summary = {"format": "afkd-prune", "version": 1, **self._identity(), "baseline": rows[0], "rows": rows,
                   "result": chosen, "result_row": rows[chosen],
                   "size_reduction": rows[0]["nonzero_params"] / max(1, rows[chosen]["nonzero_params"])}
        meta = {"role": "pruned", "prune": {"from": str(self.model_path), "method": self.settings.method,
                                            "goal": self.settings.goal, "round": chosen,
                                            "sparsity": rows[chosen]["sparsity"]}}
        self.task.save(self.out / "pruned.pt", model, meta)
        table = format_table(rows, chosen, self.goal)
        atomic_write_bytes(self.out / "prune.json", (json.dumps(summary, indent=1) + "\n").encode())
        atomic_write_bytes(self.out / "prune.md", (table + "\n").encode())
        return summary


def _metric_cells(row: dict) -> str:
    m = row["metrics"]
    return " ".join(f"{k}={v:.4g}" for k, v in m.items() if isinstance(v, float))


def format_row(index: int, row: dict, baseline: dict) -> str:
    goal = "" if row.get("goal_loss") is None else f"  loss {row['goal_loss']:+.4g} {'met' if row['met'] else 'BROKEN'}"
    return (f"[{index:2d} {row['kind']:6s}] sparsity {row['sparsity']:.3f}  params {row['nonzero_params']:,}  "
            f"MACs {row['nonzero_macs']:,}  {_metric_cells(row)}{goal}")


def format_table(rows: list[dict], chosen: int, goal: Goal | None) -> str:
    metric = goal.metric if goal else next((k for k, v in rows[0]["metrics"].items() if isinstance(v, float)), None)
    lines = [f"| round | kind | target | sparsity | params (non-zero) | MACs (non-zero) | {metric} | goal loss | met |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---|"]
    for i, r in enumerate(rows):
        value = r["metrics"].get(metric)
        loss = "" if r.get("goal_loss") is None else f"{r['goal_loss']:+.4f}"
        mark = " (result)" if i == chosen else ""
        lines.append(f"| {i}{mark} | {r['kind']} | {r['target']:.3f} | {r['sparsity']:.3f} | {r['nonzero_params']:,} | "
                     f"{r['nonzero_macs']:,} | {'' if value is None else f'{value:.4f}'} | {loss} | {'yes' if r['met'] else 'no'} |")
    return "\n".join(lines)
