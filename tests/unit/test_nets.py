"""The plain nn.Modules: output shapes and the ability to over-fit a tiny batch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import nn
from torch_geometric.data import Batch

from chemchallenge.features.graphs import smiles_to_graphs
from chemchallenge.features.tokenizer import SmilesVocab
from chemchallenge.models.nets import DMPNN, GNN, MLP, AttentiveFPNet, SmilesCNN, SmilesRNN
from chemchallenge.training.data import collate_tokens

SMILES = [
    "CCO",
    "c1ccccc1O",
    "CC(=O)Nc1ccc(O)cc1",
    "C[C@@H](N)C(=O)O",
    "ClC(Cl)Cl",
    "C1CCNCC1",
    "O=C(O)c1ccccc1OC(C)=O",
    "[Na+]",
]
N_EXTRA = 3


def _tokens() -> tuple[torch.Tensor, int, int]:
    vocab = SmilesVocab.build(SMILES)
    items = [(torch.tensor(vocab.encode(s)), torch.zeros(0)) for s in SMILES]
    tokens, _ = collate_tokens(items, vocab.pad_idx)
    return tokens, len(vocab), vocab.pad_idx


def _graphs(extra: bool = False) -> Batch:
    batch = Batch.from_data_list(smiles_to_graphs(SMILES))
    if extra:
        batch.extra = torch.randn(len(SMILES), N_EXTRA, generator=torch.Generator().manual_seed(1))
    return batch


def _cases() -> dict[str, Callable[[int], tuple[nn.Module, Any]]]:
    def seq(cls: type[nn.Module], **kw: Any) -> Callable[[int], tuple[nn.Module, Any]]:
        def make(k: int) -> tuple[nn.Module, Any]:
            tokens, v, pad = _tokens()
            return cls(v, k, pad_idx=pad, dropout=0.0, **kw), tokens

        return make

    feats = torch.randn(len(SMILES), 16, generator=torch.Generator().manual_seed(0))
    return {
        "mlp": lambda k: (MLP(16, k, (64, 32), dropout=0.0, norm="batch"), feats),
        "mlp_layer": lambda k: (MLP(16, k, (64,), dropout=0.0, norm="layer"), feats),
        "cnn": seq(SmilesCNN),
        "gru": seq(SmilesRNN),
        "lstm": seq(SmilesRNN, cell="lstm", pool="max", bidirectional=False),
        "gcn": lambda k: (GNN(k, "gcn", dropout=0.0), _graphs()),
        "gin": lambda k: (GNN(k, "gin", dropout=0.0, pool="sum"), _graphs()),
        "gine_extra": lambda k: (GNN(k, "gine", dropout=0.0, n_extra=N_EXTRA), _graphs(True)),
        "dmpnn": lambda k: (DMPNN(k, hidden=64), _graphs()),
        "dmpnn_extra": lambda k: (
            DMPNN(k, hidden=64, aggregation="sum", n_extra=N_EXTRA),
            _graphs(True),
        ),
        "attentivefp": lambda k: (AttentiveFPNet(k, dropout=0.0), _graphs()),
    }


CASES = _cases()


@pytest.fixture(autouse=True)
def _one_thread() -> Any:
    """Tiny nets: one thread is fastest and immune to busy shared cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("name", sorted(CASES))
def test_output_shape(name: str) -> None:
    torch.manual_seed(0)
    net, inputs = CASES[name](3)
    net.eval()
    with torch.no_grad():
        out = net(inputs)
    assert out.shape == (len(SMILES), 3)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", sorted(CASES))
def test_overfits_tiny_batch(name: str) -> None:
    torch.manual_seed(0)
    net, inputs = CASES[name](2)
    y = torch.randn(len(SMILES), 2, generator=torch.Generator().manual_seed(3))
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    net.train()
    first = last = 0.0
    for step in range(300):
        opt.zero_grad()
        loss = ((net(inputs) - y) ** 2).mean()
        loss.backward()
        opt.step()
        if step == 0:
            first = loss.item()
        last = loss.item()
    assert last <= 0.1 * first, f"{name}: loss {first:.3f} -> {last:.3f}"


def test_dmpnn_excludes_reverse_edge() -> None:
    """Depth 2 on ethane: each edge's message is the sum over edges into its source except
    its reverse, so a molecule with one bond passes no message along the bond."""
    torch.manual_seed(0)
    net = DMPNN(1, hidden=8, depth=2)
    data = Batch.from_data_list(smiles_to_graphs(["CC"]))
    h0 = torch.relu(net.W_i(torch.cat([data.x[data.edge_index[0]], data.edge_attr], dim=1)))
    atoms = torch.relu(net.W_o(torch.cat([data.x, h0[[1, 0]]], dim=1)))
    assert torch.allclose(net.encode(data), atoms.mean(dim=0, keepdim=True), atol=1e-6)
