"""Beam-search decoding of the VAE: the most likely string per latent vector.

Keeps the ``width`` most likely partial strings per latent; a string that emitted ``<eos>`` stays
in the beam with its score frozen. The winner maximises the log-probability divided by the
length (without it, short strings would always win).
"""

from __future__ import annotations

import torch

from chemchallenge.generation.vae import SmilesVAE


@torch.no_grad()
def beam_generate(
    model: SmilesVAE, z: torch.Tensor, max_len: int = 100, width: int = 5
) -> torch.Tensor:
    """(B, <= max_len) token ids (BOS excluded, EOS included, PAD after it)."""
    model.eval()
    b, k = z.size(0), width
    zk = z.repeat_interleave(k, dim=0)
    h = model._h0(zk)
    tok = torch.full((b * k, 1), model.bos_idx, dtype=torch.long, device=z.device)
    scores = torch.full((b, k), -torch.inf, device=z.device)
    scores[:, 0] = 0.0  # one live beam per latent at the start
    seqs = torch.zeros((b * k, 0), dtype=torch.long, device=z.device)
    finished = torch.zeros(b * k, dtype=torch.bool, device=z.device)
    lengths = torch.zeros(b * k, device=z.device)
    offsets = (torch.arange(b, device=z.device) * k).unsqueeze(1)
    for _ in range(max_len):
        o, h = model.decoder(torch.cat([model.embedding(tok), zk.unsqueeze(1)], dim=-1), h)
        logp = torch.log_softmax(model.out(o[:, -1]), dim=-1)
        logp[:, [model.pad_idx, model.bos_idx, model.unk_idx]] = -torch.inf
        logp[finished] = -torch.inf
        logp[finished, model.pad_idx] = 0.0  # a finished string only pads, at no cost
        vocab = logp.size(1)
        cand = (scores.reshape(-1, 1) + logp).view(b, k * vocab)
        scores, idx = cand.topk(k, dim=1)
        sel = (offsets + idx // vocab).view(-1)
        nxt = (idx % vocab).view(-1)
        h, seqs = h[:, sel], torch.cat([seqs[sel], nxt.unsqueeze(1)], dim=1)
        lengths = lengths[sel] + (~finished[sel]).float()
        finished = finished[sel] | (nxt == model.eos_idx)
        tok = nxt.unsqueeze(1)
        if bool(finished.all()):
            break
    best = (scores.view(-1) / lengths.clamp(min=1)).view(b, k).argmax(dim=1)
    return seqs.view(b, k, -1)[torch.arange(b, device=z.device), best]
