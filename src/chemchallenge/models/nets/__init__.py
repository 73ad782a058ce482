"""Plain ``nn.Module`` architectures (no training logic, no data handling)."""

from chemchallenge.models.nets.attentivefp import AttentiveFPNet
from chemchallenge.models.nets.dmpnn import DMPNN
from chemchallenge.models.nets.gnn import GNN
from chemchallenge.models.nets.mlp import MLP
from chemchallenge.models.nets.smiles_cnn import SmilesCNN
from chemchallenge.models.nets.smiles_rnn import SmilesRNN

__all__ = ["DMPNN", "GNN", "MLP", "AttentiveFPNet", "SmilesCNN", "SmilesRNN"]
