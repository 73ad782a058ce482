"""Molecule featurizers behind one protocol and a name registry."""
