"""What the soak (benchmarks/soak.py) prints at its end: every effect counted against what was asked, each replica's
RSS, the replicas' ERROR lines (expected ones, named, apart from the rest), and one PASS/FAIL line per criterion."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from _soak_load import RELEASED, Asked, Load, text_of

OWN = re.compile(r"^(?:Bake (b-[0-9a-z]+) of |Release train (t-[0-9a-z]+)|Rollout (r-[0-9a-z]+) of )")
ERROR_LINE = re.compile(r"^\S+ \S+ ERROR (\S+) (.*)$")
RSS_LIMIT = 10.0  # % growth
# ERROR lines the soak's load causes on purpose, by name (event, then why it is expected). None so far: a line
# listed here must be one the load provokes by design, never one that merely happens.
EXPECTED_ERRORS: dict[str, str] = {}


def own_id(message: dict[str, Any]) -> str | None:
    """The record a message is the own message of (a bake, a train or a rollout), by its first words."""
    found = OWN.match(str(message.get("text", "")))
    return next((g for g in found.groups() if g), None) if found else None


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        line = next(x for x in status if x.startswith("VmRSS:"))
    return int(line.split()[1])


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    verdicts: list[tuple[str, bool, str]] = field(default_factory=list)

    def say(self, text: str = "") -> None:
        self.lines.append(text)

    def judge(self, criterion: str, ok: bool, detail: str) -> None:
        self.verdicts.append((criterion, ok, detail))

    @property
    def passed(self) -> bool:
        return all(ok for _, ok, _ in self.verdicts)

    def text(self) -> str:
        verdicts = [f"{'PASS' if ok else 'FAIL'}  {name}: {detail}" for name, ok, detail in self.verdicts]
        return "\n".join([*self.lines, "", *verdicts])


def _once(report: Report, what: str, counts: dict[str, int], asked: int) -> None:
    """One line per record: each must have exactly one of the effect; and as many records as asked."""
    wrong = {k: v for k, v in counts.items() if v != 1}
    report.say(f"{what}: {len(counts)} records (asked {asked}), {sum(counts.values())} effects")
    for key, n in sorted(counts.items()):
        report.say(f"    {key}: {n}{'' if n == 1 else '   <-- ' + ('LOST' if n == 0 else 'DOUBLED')}")
    detail = f"{len(counts)} records, asked {asked}; " + (
        "each once" if not wrong else ", ".join(f"{k}={v}" for k, v in sorted(wrong.items()))
    )
    report.judge(what, not wrong and len(counts) == asked, detail)


def effects(report: Report, load: Load) -> None:
    r, asked = load.r, load.asked
    tops = load.tops()
    report.say("== effects against what was asked")
    report.say(
        f"asked: {len(asked.bakes)} /bake ({sum(1 for i in asked.bakes.values() if i == 'base')} base, "
        f"{sum(1 for i in asked.bakes.values() if i == 'web')} web; {asked.deferred} deferred while their image was "
        f"busy), {len(asked.approvals)} approvals (2 presses each, one per replica), {len(asked.upstream)} upstream "
        f"changes, {len(asked.rebakes)} Rebake web (2 presses each), {len(asked.rollouts)} rollouts (2 presses each)"
    )
    trains_base, trains_web = load.automatic("base"), load.automatic("web")
    every = {**asked.bakes, **{rid: "base" for rid in trains_base}, **{rid: "web" for rid in trains_web}}
    _once(
        report,
        "commits per /bake",
        {rid: load.bake_commits(img, rid) for rid, img in asked.bakes.items()},
        len(asked.bakes),
    )
    _once(report, "train base bakes per upstream change (commits)", Counter(trains_base), len(asked.upstream))
    _once(report, "train web bakes per Rebake (commits)", Counter(trains_web), len(asked.rebakes))
    # Each record's own message says which it is in its first words (its text, the notification's fallback).
    own = Counter(k for k in map(own_id, tops) if k)
    _once(report, "top-level messages per bake", {rid: own[rid] for rid in every}, len(every))
    released = {rid: int(any(RELEASED in text_of(m) for m in r.bake_messages(rid))) for rid in every}
    _once(report, "bakes released", released, len(every))
    decisions = Counter(d.execution_id for d in load.decisions())
    _once(report, "put_approval_result per approval (by execution)", dict(decisions), len(asked.approvals))
    # base shares its AMI with web's account (a distribution), so each release of base is a train (§12, §13):
    # the upstream changes' trains and one per /bake base.
    base_released = sum(released[rid] for rid, image in every.items() if image == "base")
    trains = {k: n for k, n in own.items() if k.startswith("t-")}
    _once(report, "top-level messages per train (one train per base release)", trains, base_released)
    replies = [m for m in r.messages() if m.get("thread_ts") and not m.get("ephemeral_to")]
    rollouts = Counter(k for k in map(own_id, replies) if k and k.startswith("r-"))
    _once(report, "messages per rollout (in its bake's thread)", rollouts, len(asked.rollouts))
    refreshes = r.refreshes_started()
    report.say(f"instance refreshes started: {refreshes} (asked {len(asked.rollouts)} rollouts)")
    report.judge(
        "instance refreshes per rollout", refreshes == len(asked.rollouts), f"{refreshes} for {len(asked.rollouts)}"
    )
    others = [t for t in tops if not own_id(t)]
    report.say(f"other top-level messages: {len(others)}")
    for t in others:
        report.say(f"    {t['ts']}: {t.get('text', '')[:120]!r}")
    report.judge("no unexplained top-level message", not others, f"{len(others)}")
    report.judge(
        "the load was driven",
        not asked.errors and not asked.stuck,
        "; ".join(asked.errors + asked.stuck) or "no refusal, nothing stuck",
    )


def memory(report: Report, start: dict[int, int], end: dict[int, int]) -> None:
    report.say("== RSS (after the warm-up, at the end)")
    for i in sorted(start):
        growth = 100.0 * (end[i] - start[i]) / start[i]
        report.say(f"replica {i}: {start[i] / 1024:.1f} MiB -> {end[i] / 1024:.1f} MiB ({growth:+.1f} %)")
        report.judge(f"replica {i} RSS growth < {RSS_LIMIT:.0f} %", growth < RSS_LIMIT, f"{growth:+.1f} %")


def errors(report: Report, logs: dict[int, str]) -> None:
    report.say("== ERROR log lines")
    unexpected = 0
    for i, text in sorted(logs.items()):
        for line in text.splitlines():
            found = ERROR_LINE.match(line)
            if not found:
                continue
            event = found.group(2).split(" ", 1)[0]
            why = EXPECTED_ERRORS.get(event)
            unexpected += why is None
            report.say(f"replica {i} {'expected (' + why + ')' if why else 'UNEXPECTED'}: {line[:300]}")
    report.say(f"expected kinds: {', '.join(EXPECTED_ERRORS) or 'none'}")
    report.judge("no unexpected ERROR line", unexpected == 0, f"{unexpected} unexpected")


def summarise(asked: Asked, seconds: float) -> str:
    return (
        f"{len(asked.bakes)} bakes in {seconds / 60:.1f} min ({60 * len(asked.bakes) / max(seconds, 1):.1f} a minute)"
    )
