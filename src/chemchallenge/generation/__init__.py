"""Molecule generation: VAE, latent GAN, MOSES-style metrics."""
