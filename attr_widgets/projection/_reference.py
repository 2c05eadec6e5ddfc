"""Hilton's illustrative 10-line implementation, verbatim, as the reference for tests and benchmarks.

From Hilton, A basis-invariant version of attribution (2024), §2.

Valid only for ``k <= rank(S)``. Its ``S`` is ``p`` times ours because it does not divide by the sample count;
the bases it returns equal ours (the ``1/√p`` factors cancel in ``A V S^-½``).
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["get_projection"]


def get_projection(acts: Tensor, grads: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """Return ``(P_A, P_G)`` exactly as Hilton's code does."""
    assert acts.shape == grads.shape
    acts = acts - acts.mean(-2, keepdim=True)
    A_vecs, A_vals, _ = torch.linalg.svd(acts.mT, full_matrices=False)  # noqa: N806 (Hilton's names)
    G_vecs, G_vals, _ = torch.linalg.svd(grads.mT, full_matrices=False)  # noqa: N806
    A = A_vecs * A_vals.unsqueeze(-2)  # noqa: N806
    G = G_vecs * G_vals.unsqueeze(-2)  # noqa: N806
    U, S, Vh = torch.linalg.svd(G.mT @ A)  # noqa: N806
    U = U[..., :k]  # noqa: N806
    S = S[..., :k].unsqueeze(-2)  # noqa: N806
    V = Vh.mT[..., :k]  # noqa: N806
    return (A @ (V * S ** (-0.5))), (G @ (U * S ** (-0.5)))
