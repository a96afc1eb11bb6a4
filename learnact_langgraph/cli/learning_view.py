"""Printing a learning run as it streams: candidates, scores, failures, revisions, release.

:class:`LearningView` takes the learner graph's ``stream_mode="updates"`` chunks one at a
time and prints what each node did, so a person watching ``learnact demo`` sees the loop
itself: what was drawn, how it scored on each training task, where it failed and with
what feedback, how it was revised, and what was published.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table

_CLIP = 160


def _clip(text: str, limit: int = _CLIP) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _sources(candidate: dict[str, Any]) -> str:
    return "\n\n".join(a["source"].rstrip() for a in candidate["actions"].values())


@dataclass
class LearningView:
    """Renders learner updates; ``rounds_scores`` keeps the best score of every round."""

    console: Console
    train_tasks: list[str]
    candidates: dict[str, dict[str, Any]] = field(default_factory=dict)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    round_best: list[tuple[int, str, float, int]] = field(default_factory=list)
    release: dict[str, Any] | None = None
    status: str = ""
    _round: int = 0

    def update(self, node: str, update: dict[str, Any] | None) -> None:
        """Print what ``node`` just did (``update`` is its state update)."""
        update = update or {}
        if "status" in update:
            self.status = str(update["status"])
        if node == "create_actions":
            self._drawn(update.get("candidates", []), update.get("log", [{}])[0], 0)
        elif node == "update_actions":
            self._round = int(update.get("round", self._round + 1))
            revised = [c for c in update.get("candidates", [])[1:]]
            self._revised(revised)
            self._dropped((update.get("log") or [{}])[0])
        elif node == "act":
            self.results.update(update.get("results", {}))
        elif node == "evaluate":
            self._scores(update.get("scores", {}))
        elif node == "select":
            self._selected(update.get("best") or {})
        elif node == "detect_failure":
            self._failure(update.get("failure"))
        elif node == "publish":
            why = next((e.get("reason", "") for e in update.get("log", [])), "")
            self._published(update.get("release"), why)

    # ----- one method per node ---------------------------------------------------------
    def _drawn(self, drawn: list[dict[str, Any]], log: dict[str, Any], round_: int) -> None:
        out = self.console
        out.rule(f"[bold]Round {round_}: the learner writes candidate actions")
        out.print(
            f"Drew {log.get('sampled', len(drawn))} candidate action sets; "
            f"{len(drawn)} gave code that passed the checks (sandbox policy, known names)."
        )
        self._dropped(log)
        seen: dict[str, str] = {}
        for cand in drawn:
            self.candidates[cand["id"]] = cand
            code = _sources(cand)
            if code in seen:
                out.print(f"[dim]{cand['id']}: the same code as {seen[code]}[/dim]")
                continue
            seen[code] = cand["id"]
            out.print(f"[bold]{cand['id']}[/bold]:{self._repairs(cand.get('revision') or {})}")
            out.print(Syntax(code, "python", theme="ansi_dark", line_numbers=False))

    @staticmethod
    def _repairs(rev: dict[str, Any]) -> str:
        """What the repair turns went through before this candidate passed, in one line."""
        parts = []
        if rev.get("repaired"):
            first = escape(_clip(rev["repaired"][0], 200))
            parts.append(f"after {len(rev['repaired'])} repair turn(s); first problem: {first}")
        if rev.get("salvaged"):
            removed = escape(_clip("; ".join(rev["salvaged"]), 300))
            parts.append(f"kept the functions that pass on their own, removed {removed}")
        return f" [dim]({'; '.join(parts)})[/dim]" if parts else ""

    def _dropped(self, log: dict[str, Any]) -> None:
        """Why each sample that gave no candidate was dropped (as the model was told)."""
        for drop in log.get("dropped", ()):
            self.console.print(
                f"[yellow]{drop['id']} dropped[/yellow]: {escape(_clip(drop['reason'], 400))}"
            )

    def _revised(self, revised: list[dict[str, Any]]) -> None:
        out = self.console
        out.rule(f"[bold]Round {self._round}: the learner revises the best set from the failure")
        seen: dict[str, str] = {}
        for cand in revised:
            self.candidates[cand["id"]] = cand
            rev = cand.get("revision", {})
            parent = self.candidates.get(str(cand.get("parent")), {})
            key = f"{rev.get('kind')}|{_sources(cand)}|{cand['actions']}"
            if key in seen:
                out.print(f"[dim]{cand['id']}: the same revision as {seen[key]}[/dim]")
                continue
            seen[key] = cand["id"]
            out.print(
                f"[bold]{cand['id']}[/bold]: {str(rev.get('kind', '?')).capitalize()} of "
                f"{rev.get('target')}; reason given: {escape(_clip(rev.get('reason', '')))}"
            )
            if rev.get("kind") == "update" and parent:
                diff = difflib.unified_diff(
                    _sources(parent).splitlines(),
                    _sources(cand).splitlines(),
                    f"{parent['id']}",
                    f"{cand['id']}",
                    lineterm="",
                )
                out.print(Syntax("\n".join(diff), "diff", theme="ansi_dark"))
            else:
                for name, action in cand["actions"].items():
                    for note in action.get("notes", ()):
                        out.print(f"  note on {name}: {escape(note)}")

    def _scores(self, scores: dict[str, dict[str, float]]) -> None:
        table = Table(title=f"Round {self._round}: each candidate on the training tasks")
        table.add_column("candidate")
        for task in self.train_tasks:
            table.add_column(task.split("/")[-1], justify="center")
        table.add_column("failed calls", justify="right")
        table.add_column("score", justify="right")
        for cid, stats in scores.items():
            cells = []
            for task in self.train_tasks:
                traj = self._result(cid, task)
                if traj is None:
                    cells.append("(kept)")
                else:
                    mark = "[green]solved[/green]" if traj["success"] else "[red]failed[/red]"
                    cells.append(f"{mark} {traj['progress']:.2f}")
            failed = f"{int(stats.get('failed_calls', 0))}/{int(stats.get('learned_calls', 0))}"
            table.add_row(cid, *cells, failed, f"{stats.get('score', 0.0):.2f}")
        self.console.print(table)

    def _result(self, cid: str, task: str) -> dict[str, Any] | None:
        for key, traj in self.results.items():
            _, c, t = key.split("|", 2)
            if c == cid and t == task and key.startswith(f"{self._round}|"):
                return traj
        return None

    def _selected(self, best: dict[str, Any]) -> None:
        stats = best.get("stats", {})
        score = float(stats.get("score", 0.0))
        solved = round(float(stats.get("success", 0.0)) * len(self.train_tasks))
        self.round_best.append((self._round, str(best.get("id")), score, solved))
        self.console.print(
            f"Best after round {self._round}: [bold]{best.get('id')}[/bold], score {score:.2f}, "
            f"{solved}/{len(self.train_tasks)} training tasks solved."
        )

    def _failure(self, failure: dict[str, Any] | None) -> None:
        out = self.console
        if not failure:
            out.print("[green]No learned-action call failed on the training tasks.[/green]")
            return
        step = failure["step"]
        out.print(
            f"[bold red]A learned action failed[/bold red] on {failure['task_id']}, step "
            f"{failure['step_index'] + 1}: [bold]{escape(step['action'])}[/bold]"
        )
        out.print(
            f"Error feedback ({step.get('error_kind')}): {escape(_clip(step['message'], 300))}"
        )
        for sub in step.get("substeps", ()):
            args = ", ".join(repr(a) for a in sub.get("args", []))
            out.print(f"  {sub['name']}({escape(args)}) -> {escape(_clip(sub['observation'], 90))}")

    def _published(self, release: dict[str, Any] | None, why: str = "") -> None:
        out = self.console
        out.rule("[bold]Publish")
        self.release = release
        if not release:
            reason = f": {why}" if why else ""
            out.print(f"[red]Nothing was published (status: {self.status}{reason}).[/red]")
            return
        where = "/".join(release.get("library_prefix") or []) or "(no library)"
        out.print(
            f"Published release {release.get('library_generation')} of {where}: candidate "
            f"{release['candidate']} from round {release['round']}."
        )
        for action in release["actions"].values():
            out.print(
                f"  [bold]{escape(action['signature'])}[/bold]: {escape(action['description'])}"
            )
        if len(self.round_best) > 1:
            first, last = self.round_best[0], self.round_best[-1]
            out.print(
                f"Score of the best set: {first[2]:.2f} after round {first[0]} "
                f"({first[3]}/{len(self.train_tasks)} solved) -> {last[2]:.2f} after round "
                f"{last[0]} ({last[3]}/{len(self.train_tasks)} solved)."
            )
