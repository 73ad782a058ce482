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


#: Larger inputs are refused as invalid SMILES before RDKit works on them: RDKit's
#: recursive algorithms (canonical SMILES, standardisation) overflow the C stack and kill
#: the process (a segmentation fault, no Python error) on chains of ~20,000 atoms. Drug-like
#: challenge molecules have well under 200 heavy atoms.
MAX_SMILES_CHARS = 5000
MAX_ATOMS = 1000


def parse_smiles(smiles: object) -> ParseResult:
    """Parse a SMILES string; on failure give RDKit's reason in words."""
    if not isinstance(smiles, str) or not smiles.strip():
        return ParseResult(None, "empty SMILES")
    text = smiles.strip()
    if len(text) > MAX_SMILES_CHARS:
        return ParseResult(
            None, f"SMILES of {len(text)} characters (more than {MAX_SMILES_CHARS}): too large"
        )
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
    if mol.GetNumAtoms() > MAX_ATOMS:
        return ParseResult(
            None, f"molecule of {mol.GetNumAtoms()} atoms (more than {MAX_ATOMS}): too large"
        )
    return ParseResult(mol, None)


class Standardizer:
    """Cleanup → largest organic fragment → neutralise → (no stereo) → canonical SMILES."""

    def __init__(self, cfg: StandardizeConfig) -> None:
        self.cfg = cfg
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
