"""A routing decision in words: every candidate, its numbers, and why it lost.

Kept apart from the scoring so that routing 10,000 work orders does not write 500,000 sentences
nobody reads: the text is made when a decision is stored or shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from microfactory.network.routing import Candidate, RoutingDecision

COMPONENT_UNITS = {
    "distance": "1.0 per 1,000 km",
    "load": "1.0 per week of queued work",
    "cost": "1.0 per 100% over the cheapest site",
    "promise": "1.0 per week until shipping",
}


def explain(decision: RoutingDecision) -> dict[str, Any]:
    """The JSON explanation of a decision (stored with the assignment, shown by API and CLI)."""
    winner = decision.winner
    demand = decision.demand
    destination = demand.destination
    return {
        "work_order_ids": list(demand.work_order_ids),
        "site": decision.site,
        "central_fallback": decision.central,
        "deciding_factor": decision.deciding_factor,
        "summary": summary(decision),
        "weights": decision.weights.as_dict(),
        "scales": COMPONENT_UNITS,
        "destination": destination.as_dict() if destination is not None else None,
        "distance_approximate": destination is None or destination.approximate,
        "candidates": [_candidate(candidate, winner, decision) for candidate in decision.candidates],
    }


def summary(decision: RoutingDecision) -> str:
    """One sentence an operator can read: who won, and on what."""
    winner = decision.winner
    if winner is None:
        return "no site can make this work order; it waits for an operator"
    if decision.central:
        return f"{winner.site}: no local site can make it, so the central factory does"
    feasible = [c for c in decision.candidates if c.feasible and not c.central]
    if len(feasible) < 2:
        return f"{winner.site}: the only local site that can make it"
    factor = decision.deciding_factor
    return f"{winner.site} wins on {factor}: {compare(factor, winner, feasible[1])}"


def compare(factor: str, winner: Candidate, other: Candidate) -> str:
    """The numbers behind a factor, winner first."""
    if factor == "distance":
        return (
            f"{winner.site} is {_km(winner.distance_km)} from the customer, "
            f"{other.site} {_km(other.distance_km)}"
        )
    if factor == "load":
        return f"{winner.site} has {winner.load:.0%} of a week queued, {other.site} {other.load:.0%}"
    if factor == "cost":
        return f"{winner.site} makes it for {winner.cost:.2f}, {other.site} for {other.cost:.2f}"
    if factor == "promise":
        return f"{winner.site} ships in {winner.ship_days:.1f} days, {other.site} in {other.ship_days:.1f}"
    return f"{winner.site} and {other.site} score the same; the site id decided"


def _km(value: float | None) -> str:
    return "an unknown distance" if value is None else f"{value:,.0f} km"


def _candidate(candidate: Candidate, winner: Candidate | None, decision: RoutingDecision) -> dict[str, Any]:
    return {
        "site": candidate.site,
        "central": candidate.central,
        "feasible": candidate.feasible,
        "reasons": list(candidate.reasons),
        "score": None if candidate.score is None else round(candidate.score, 4),
        "components": {name: round(value, 4) for name, value in candidate.components.items()},
        "distance_km": None if candidate.distance_km is None else round(candidate.distance_km, 1),
        "load": round(candidate.load, 4),
        "cost": round(candidate.cost, 2),
        "ship_days": round(candidate.ship_days, 2),
        "result": _result(candidate, winner, decision),
    }


def _result(candidate: Candidate, winner: Candidate | None, decision: RoutingDecision) -> str:
    """'chosen', or why the candidate lost."""
    if winner is not None and candidate is winner:
        return "chosen"
    if not candidate.feasible:
        return "cannot make it: " + "; ".join(candidate.reasons)
    if candidate.central:
        return "fallback only: used when no local site can make the work order"
    if winner is None or candidate.score is None or winner.score is None:
        return "not chosen"
    gains = {name: candidate.components[name] - winner.components[name] for name in candidate.components}
    factor = max(gains, key=lambda name: gains[name])
    if gains[factor] <= 0:
        return f"lost on the tie-break (site id) with score {candidate.score:.3f}"
    return (
        f"score {candidate.score:.3f} vs {winner.score:.3f}, lost most on {factor}: "
        f"{compare(factor, winner, candidate)}"
    )
