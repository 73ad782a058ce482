"""The featurizer protocol and the name registry used by params.yaml.

A featurizer is a small callable: ``featurizer(mol) -> 1-D float array`` with fixed
``names``. One that runs a neural network may also offer ``featurize_many(mols) -> 2-D
array`` (batched inference, see :func:`is_batched`); a ``transfer = True`` attribute marks
predictions of pretrained models (the featurize stage then writes a leak report).
Registering a class under a name lets params.yaml list it::

    featurize:
      featurizers:
        morgan: {radius: 2, n_bits: 2048}
        ecfp6: {type: morgan, radius: 3}   # an alias with its own parameters
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
from rdkit import Chem

from chemchallenge.errors import ConfigError


@runtime_checkable
class Featurizer(Protocol):
    """Maps one RDKit molecule to a fixed-length float vector."""

    @property
    def names(self) -> list[str]:
        """Column names of the output vector."""
        ...

    def __call__(self, mol: Chem.Mol) -> np.ndarray: ...


FEATURIZERS: dict[str, Callable[..., Featurizer]] = {}


def register(name: str) -> Callable[[Callable[..., Featurizer]], Callable[..., Featurizer]]:
    def deco(factory: Callable[..., Featurizer]) -> Callable[..., Featurizer]:
        FEATURIZERS[name] = factory
        return factory

    return deco


def build_featurizer(name: str, params: dict[str, Any] | None = None) -> Featurizer:
    """Build the featurizer declared as ``name: params`` in params.yaml."""
    import chemchallenge.features.descriptors
    import chemchallenge.features.fingerprints
    import chemchallenge.features.minimol
    import chemchallenge.features.transfer  # noqa: F401  (fills the registry)

    params = dict(params or {})
    kind = params.pop("type", name)
    if kind not in FEATURIZERS:
        raise ConfigError(
            f"featurize.featurizers.{name}: unknown featurizer type {kind!r}; "
            f"choose one of {sorted(FEATURIZERS)}"
        )
    try:
        return FEATURIZERS[kind](**params)
    except TypeError as err:
        raise ConfigError(f"featurize.featurizers.{name}: {err}") from err
    except ConfigError as err:
        where = f"featurize.featurizers.{name}"
        if str(err).startswith(where):
            raise
        raise ConfigError(f"{where}: {err}") from err


#: featurizer types that carry predictions of pretrained models (leak report in featurize)
TRANSFER_TYPES = frozenset({"admet_ai"})


def featurizer_type(name: str, params: dict[str, Any] | None = None) -> str:
    """The registered type behind ``name: params`` (``type:`` makes an alias)."""
    return str((params or {}).get("type", name))


def is_transfer(name: str, params: dict[str, Any] | None = None) -> bool:
    """Whether ``name: params`` names a transfer featurizer (known without building it)."""
    return featurizer_type(name, params) in TRANSFER_TYPES


class BatchedFeaturizer:
    """Base of a featurizer that runs a network on many molecules at once: subclasses set
    ``_names`` and define ``featurize_many``; one molecule is a batch of one."""

    _names: list[str]

    @property
    def names(self) -> list[str]:
        return list(self._names)

    def __call__(self, mol: Chem.Mol) -> np.ndarray:
        return self.featurize_many([mol])[0]

    def featurize_many(self, mols: Sequence[Chem.Mol]) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError


def is_batched(featurizer: Featurizer) -> bool:
    """Whether the featurizer featurizes many molecules at once (``featurize_many``)."""
    return callable(getattr(featurizer, "featurize_many", None))
