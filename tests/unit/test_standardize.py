"""SMILES parsing (with RDKit's reason) and standardisation to a canonical parent."""

from __future__ import annotations

import pytest
from rdkit import Chem

from chemchallenge.config import StandardizeConfig
from chemchallenge.data.standardize import Standardizer, parse_smiles
from support.params import repo_params


def standardize_config(**options: bool) -> StandardizeConfig:
    """params.yaml's ``prepare.standardize`` with ``options`` changed."""
    return StandardizeConfig(**{**repo_params()["prepare"]["standardize"], **options})


def std(smiles: str, **options: bool) -> str:
    result = parse_smiles(smiles)
    assert result.mol is not None, result.reason
    return Standardizer(standardize_config(**options)).smiles(result.mol)


@pytest.mark.parametrize(
    ("raw", "parent"),
    [
        ("OC(=O)c1ccccc1.Cl", "O=C(O)c1ccccc1"),  # counter-ion stripped
        ("CC(=O)[O-].[Na+]", "CC(=O)O"),  # salt stripped and neutralised
        ("C[NH3+]", "CN"),  # protonated amine neutralised
        ("[Na+].[O-]C(=O)c1ccccc1", "O=C(O)c1ccccc1"),
        ("OCC", "CCO"),  # canonical
        ("C1=CC=CC=C1", "c1ccccc1"),  # aromatic form
    ],
)
def test_parent(raw: str, parent: str) -> None:
    assert std(raw) == parent


def test_same_parent_for_salt_and_free_form(drug_smiles: list[str]) -> None:
    for smiles in drug_smiles[:10]:
        assert std(f"{smiles}.Cl") == std(smiles) == smiles


def test_permanent_charges_and_zwitterion_groups_stay() -> None:
    assert std("C[N+](C)(C)C") == "C[N+](C)(C)C"  # quaternary ammonium has no H to remove
    assert std("O=[N+]([O-])c1ccccc1") == "O=[N+]([O-])c1ccccc1"  # nitro group


def test_stereo_kept_by_default_and_removed_on_request() -> None:
    assert std("C[C@H](N)C(=O)O") == "C[C@H](N)C(=O)O"
    assert std("C[C@H](N)C(=O)O", remove_stereo=True) == "CC(N)C(=O)O"
    assert std("F/C=C/F", remove_stereo=True) == "FC=CF"
    assert std("F/C=C/F") == "F/C=C/F"


def test_remove_stereo_does_not_modify_the_input_molecule() -> None:
    mol = Chem.MolFromSmiles("C[C@H](N)C(=O)O")
    Standardizer(standardize_config(remove_stereo=True)).mol(mol)
    assert Chem.MolToSmiles(mol) == "C[C@H](N)C(=O)O"


def test_options_switch_steps_off() -> None:
    assert std("CC(=O)[O-].[Na+]", largest_fragment=False, neutralize=False) == "CC(=O)[O-].[Na+]"
    assert std("CC(=O)[O-].[Na+]", neutralize=False) == "CC(=O)[O-]"
    assert std("OCC", canonical=False) == "OCC"


def test_standardised_smiles_parse_back_to_the_same_smiles(drug_smiles: list[str]) -> None:
    for smiles in drug_smiles:
        out = std(smiles)
        assert Chem.MolToSmiles(Chem.MolFromSmiles(out)) == out


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "empty SMILES"),
        ("", "empty SMILES"),
        ("   ", "empty SMILES"),
        ("C1CC", "SMILES syntax error in 'C1CC'"),
        ("C(", "SMILES syntax error"),
        ("Xx", "SMILES syntax error"),
        ("c1cccc1", "Can't kekulize mol"),
        ("CC(C)(C)(C)(C)C", "Explicit valence for atom # 1 C"),
        ("n1ccccc1.C(F)(F)(F)(F)F", "valence"),
    ],
)
def test_parse_reasons(raw: object, reason: str) -> None:
    result = parse_smiles(raw)
    assert result.mol is None
    assert result.reason is not None and reason in result.reason


def test_parse_valid_strips_whitespace() -> None:
    result = parse_smiles("  CCO \n")
    assert result.reason is None and Chem.MolToSmiles(result.mol) == "CCO"


def test_parse_is_quiet(capfd: pytest.CaptureFixture[str]) -> None:
    parse_smiles("c1cccc1")
    parse_smiles("C1CC")
    captured = capfd.readouterr()
    assert "kekulize" not in captured.err and "SMILES Parse Error" not in captured.err
