"""Models written the way people write them, for tests/test_import.py: functional calls, a
ModuleList loop, a Python `if`, a dict output, a module called twice (weight sharing), a frozen
submodule, Embedding + Conv1d. Also a TARGET file: `cnncalc import tests/import_models.py:Functional`."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Functional(nn.Module):
    """Modules for the weights, functions for the rest: F.relu, F.max_pool2d, torch.cat,
    x + y, x.mean((2, 3)), torch.flatten, F.adaptive_avg_pool2d, x.view, @ (via linear)."""

    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.left = nn.Conv2d(16, 8, 1)
        self.right = nn.Conv2d(16, 8, 3, padding=1)
        self.mix = nn.Conv2d(16, 16, 1)
        self.fc = nn.Linear(16, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn(self.stem(x)))
        x = F.max_pool2d(x, 2)
        y = torch.cat([self.left(x), self.right(x)], dim=1)
        x = x + F.relu(self.mix(y))
        x = F.adaptive_avg_pool2d(x, 1)
        x = torch.flatten(x, 1)
        return self.fc(x)


class Loop(nn.Module):
    """A ModuleList walked in a loop, a Python `if` on the size, x.mean((2, 3))."""

    def __init__(self, depth: int = 3, width: int = 8) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, width, 3, padding=1)
        self.blocks = nn.ModuleList(nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.ReLU())
                                    for _ in range(depth))
        self.head = nn.Linear(width, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for block in self.blocks:
            x = x + block(x)
        if x.shape[-1] > 8:  # only big maps are pooled
            x = F.avg_pool2d(x, 2)
        return self.head(x.mean((2, 3)))


class TwoHeads(nn.Module):
    """A dict output: two heads on one trunk."""

    def __init__(self) -> None:
        super().__init__()
        self.trunk = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU())
        self.seg = nn.Conv2d(8, 4, 1)
        self.cls = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 3))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        f = self.trunk(x)
        return {"seg": self.seg(f), "cls": self.cls(f)}


class Shared(nn.Module):
    """One conv called twice (weight sharing: its parameters once, its work twice) and a
    frozen submodule (requires_grad false: still parameters)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.conv = nn.Conv2d(8, 8, 3, padding=1)
        self.frozen = nn.Sequential(nn.Conv2d(8, 8, 1), nn.BatchNorm2d(8))
        for p in self.frozen.parameters():
            p.requires_grad_(False)
        self.fc = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = torch.relu(self.conv(x))
        x = torch.relu(self.conv(x))  # the same module again
        x = self.frozen(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class TextCNN(nn.Module):
    """Embedding on token ids, then Conv1d over the sequence (Kim 2014's shape)."""

    def __init__(self, vocab: int = 1000, dim: int = 32) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.conv = nn.Conv1d(dim, 16, 3)
        self.fc = nn.Linear(16, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.embed(ids).permute(0, 2, 1)
        x = F.relu(self.conv(x))
        x = F.adaptive_max_pool1d(x, 1).flatten(1)
        return self.fc(x)


class Decoder(nn.Module):
    """A 3-D conv, a transposed conv, upsampling and a skip connection (U-Net's shape)."""

    def __init__(self) -> None:
        super().__init__()
        self.enc = nn.Conv2d(3, 16, 3, padding=1)
        self.down = nn.Conv2d(16, 32, 3, stride=2, padding=1)
        self.up = nn.ConvTranspose2d(32, 16, 2, stride=2)
        self.head = nn.Conv2d(32, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e = F.relu(self.enc(x))
        d = self.up(F.relu(self.down(e)))
        y = self.head(torch.cat([e, d], 1))
        return F.interpolate(y, scale_factor=2, mode="bilinear", align_corners=False)


class Unmappable(nn.Module):
    """A call no cnncalc op means: torch.sort."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sort(self.conv(x), dim=1).values
