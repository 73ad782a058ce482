"""SMILES parsing with RDKit's reason for failures, and standardisation to a parent."""

from __future__ import annotations

from dataclasses import dataclass

from rdkit import Chem, rdBase
from rdkit.Chem.MolStandardize import rdMolStandardize

from chemchallenge.config import StandardizeConfig


@dataclass(frozen=True)
class ParseResult:
    mol: Chem.Mol | None
    reason: str | None  # why RDKit rejected the SMILES, None when valid


def parse_smiles(smiles: object) -> ParseResult:
    """Parse a SMILES string; on failure give RDKit's reason in words."""
    if not isinstance(smiles, str) or not smiles.strip():
        return ParseResult(None, "empty SMILES")
    text = smiles.strip()
    with rdBase.BlockLogs():
        raw = Chem.MolFromSmiles(text, sanitize=False)
        if raw is None:
            return ParseResult(None, f"SMILES syntax error in {text!r}")
        problems = Chem.DetectChemistryProblems(raw)
        if problems:
            return ParseResult(None, "; ".join(p.Message() for p in problems))
        mol = Chem.MolFromSmiles(text)
    if mol is None:
        return ParseResult(None, f"RDKit could not sanitize {text!r}")
    if mol.GetNumAtoms() == 0:
        return ParseResult(None, "molecule has no atoms")
    return ParseResult(mol, None)


class Standardizer:
    """Cleanup → largest organic fragment → neutralise → (no stereo) → canonical SMILES."""

    def __init__(self, cfg: StandardizeConfig | None = None) -> None:
        self.cfg = cfg or StandardizeConfig()
        self._chooser = rdMolStandardize.LargestFragmentChooser(preferOrganic=True)
        self._uncharger = rdMolStandardize.Uncharger()

    def mol(self, mol: Chem.Mol) -> Chem.Mol:
        with rdBase.BlockLogs():
            if self.cfg.cleanup:
                mol = rdMolStandardize.Cleanup(mol)
            if self.cfg.largest_fragment:
                mol = self._chooser.choose(mol)
            if self.cfg.neutralize:
                mol = self._uncharger.uncharge(mol)
            if self.cfg.remove_stereo:
                mol = Chem.Mol(mol)
                Chem.RemoveStereochemistry(mol)
        return mol

    def smiles(self, mol: Chem.Mol) -> str:
        return Chem.MolToSmiles(self.mol(mol), canonical=self.cfg.canonical)
