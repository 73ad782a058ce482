"""Which pretrained endpoints already know a data source's molecules (``exclude: auto``).

A transfer featurizer (``admet_ai``) predicts endpoints learnt on public datasets; when such a
dataset contains the molecules being modelled, the endpoint is memory, not knowledge.
AqSolDB (behind ``Solubility_AqSolDB``) merges the Huuskonen set the demo is built from, and
the lipophilicity and solvation endpoints follow the same physics (logS ≈ −logP + const), so
the demo drops all three. A challenge's molecules are unknown to us: nothing is dropped by
name, and the featurize stage's leak report names any endpoint that alone predicts a target
suspiciously well. Kept free of heavy imports: the config resolves ``auto`` on every load.
"""

from __future__ import annotations

from typing import Any

#: endpoint patterns known to overlap each data source's molecules
KNOWN_OVERLAP: dict[str, list[str]] = {
    "demo": ["Solubility_*", "Lipophilicity_*", "HydrationFreeEnergy_*"],
}


def resolve_exclude(exclude: Any, source: str) -> Any:
    """``exclude`` as the featurizer takes it: ``"auto"`` becomes the endpoints known to
    overlap ``source``'s molecules (:data:`KNOWN_OVERLAP`; none for a challenge); any other
    value is returned unchanged (and checked when the featurizer is built)."""
    if exclude == "auto":
        return list(KNOWN_OVERLAP.get(source, []))
    return exclude
