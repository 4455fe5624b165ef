"""The focalized multi-view contrastive loss."""
import math

import torch
import torch.nn.functional as F

from focovil.training.loss import chance_loss, focal_contrastive_loss


def test_plain_infonce_when_focalization_is_off_matches_cross_entropy():
    torch.manual_seed(0)
    z1, z2 = F.normalize(torch.randn(8, 16), dim=1), F.normalize(torch.randn(8, 16), dim=1)
    z = torch.cat([z1, z2])
    logits = (z @ z.T / 0.1).masked_fill(torch.eye(16, dtype=torch.bool), float("-inf"))
    target = torch.cat([torch.arange(8, 16), torch.arange(0, 8)])
    ref = F.cross_entropy(logits, target)
    # nats, float32: the two means of 16 log-softmax terms (loss 3.75) agree to ~1e-7; tau off by 0.1 % moves it 2e-3
    assert torch.allclose(focal_contrastive_loss(z1, z2, tau=0.1, gamma=0, beta=0), ref, atol=1e-5)


def test_equal_similarities_give_chance_loss():
    z = F.normalize(torch.ones(4, 8), dim=1)
    # log(7) = 1.95 nats, reached in float32 (3e-7 off); a weight of 1e-4 on the negatives moves it 9e-5
    assert math.isclose(focal_contrastive_loss(z, z, gamma=0).item(), chance_loss(4), rel_tol=1e-5)


def test_matched_pairs_cost_less_than_shuffled_pairs():
    torch.manual_seed(1)
    z1 = F.normalize(torch.randn(16, 32), dim=1)
    z2 = F.normalize(z1 + 0.05 * torch.randn(16, 32), dim=1)
    assert focal_contrastive_loss(z1, z2) < focal_contrastive_loss(z1, z2[torch.randperm(16)])


def test_focal_term_downweights_solved_pairs_more_than_hard_ones():
    torch.manual_seed(2)
    z1 = F.normalize(torch.randn(16, 32), dim=1)
    easy = F.normalize(z1 + 0.01 * torch.randn(16, 32), dim=1)
    hard = F.normalize(z1 + 1.0 * torch.randn(16, 32), dim=1)
    ratio_easy = focal_contrastive_loss(z1, easy, gamma=2) / focal_contrastive_loss(z1, easy, gamma=0)
    ratio_hard = focal_contrastive_loss(z1, hard, gamma=2) / focal_contrastive_loss(z1, hard, gamma=0)
    assert ratio_easy < ratio_hard


def test_hard_negative_weighting_raises_loss_when_a_negative_is_close():
    torch.manual_seed(3)
    z1 = F.normalize(torch.randn(8, 32), dim=1)
    z2 = F.normalize(z1 + 0.3 * torch.randn(8, 32), dim=1)
    z2[1] = F.normalize(z1[0] + 0.01 * torch.randn(32), dim=0)      # a negative nearly on anchor 0
    assert focal_contrastive_loss(z1, z2, gamma=0, beta=5) > focal_contrastive_loss(z1, z2, gamma=0, beta=0)


def test_gradients_flow():
    z1 = F.normalize(torch.randn(4, 8), dim=1).requires_grad_()
    z2 = F.normalize(torch.randn(4, 8), dim=1)
    focal_contrastive_loss(z1, z2, gamma=1, beta=2).backward()
    assert z1.grad is not None and torch.isfinite(z1.grad).all() and z1.grad.abs().sum() > 0


def test_mined_neighbour_becomes_a_positive_and_lowers_the_loss():
    torch.manual_seed(4)
    z1 = F.normalize(torch.randn(8, 32), dim=1)
    z2 = F.normalize(z1 + 0.2 * torch.randn(8, 32), dim=1)
    z2[1] = F.normalize(z2[0] + 0.01 * torch.randn(32), dim=0)     # item 1 looks just like item 0
    plain = focal_contrastive_loss(z1, z2, gamma=0)
    mined = focal_contrastive_loss(z1, z2, gamma=0, mined=1)
    assert mined < plain
