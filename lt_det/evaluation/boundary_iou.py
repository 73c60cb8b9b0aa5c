"""Mask boundaries for Boundary IoU (Cheng et al., "Boundary IoU: Improving Object-Centric Image
Segmentation Evaluation", CVPR 2021), the IoU of the LVIS 2021 challenge's boundary AP.

The boundary of a mask G is G_d ∩ G: the pixels of G within distance d of its contour, d =
max(1, round(dilation_ratio * image diagonal)), distance measured in the chessboard metric
(d erosions with a 3x3 square, as the paper's code does with OpenCV), pixels outside the image
counting as background (so a mask cut by the image border has a boundary along it). Boundary
IoU is the IoU of two such boundaries; boundary AP matches with min(mask IoU, boundary IoU).
"""
from typing import List

import numpy as np
import pycocotools.mask as mask_utils


def boundary_width(height: int, width: int, dilation_ratio: float) -> int:
    """d in pixels: ``dilation_ratio`` of the image diagonal, rounded, at least 1."""
    return max(1, int(round(dilation_ratio * float(np.sqrt(height**2 + width**2)))))


def erode(mask: np.ndarray, d: int) -> np.ndarray:
    """Binary erosion of a 2-D 0/1 mask by a (2d+1) x (2d+1) square, outside = background.

    A pixel survives when its whole window is foreground, i.e. the window sum (from an
    integral image of the zero-padded mask) is (2d+1)^2. d erosions by a 3x3 square are one
    erosion by this square (Minkowski sums of squares), so this equals the paper's code.
    """
    h, w = mask.shape
    k = 2 * d + 1
    if k > min(h, w):  # every window reaches outside the mask: nothing survives
        return np.zeros((h, w), dtype=bool)
    padded = np.zeros((h + 2 * d + 1, w + 2 * d + 1), dtype=np.int32)
    padded[d + 1 : d + 1 + h, d + 1 : d + 1 + w] = mask
    integral = padded.cumsum(0).cumsum(1)
    window = integral[k:, k:] - integral[:-k, k:] - integral[k:, :-k] + integral[:-k, :-k]
    return window == k * k


def mask_boundary(mask: np.ndarray, d: int) -> np.ndarray:
    """The boundary G_d ∩ G of a 0/1 mask (uint8), computed on the mask's bounding box.

    Erosion is local: outside the box plus one pixel the mask is 0 and so is the boundary,
    and a crop with one background pixel around the box (or the image border) erodes the
    same as the whole image.
    """
    out = np.zeros_like(mask, dtype=np.uint8)
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    if rows.size == 0:
        return out
    r0, r1 = max(rows[0] - 1, 0), min(rows[-1] + 2, mask.shape[0])
    c0, c1 = max(cols[0] - 1, 0), min(cols[-1] + 2, mask.shape[1])
    crop = mask[r0:r1, c0:c1].astype(bool)
    out[r0:r1, c0:c1] = crop & ~erode(crop, d)
    return out


def boundary_rles(rles: List[dict], dilation_ratio: float) -> List[dict]:
    """Compressed RLE of the boundary of each compressed-RLE mask."""
    out = []
    for rle in rles:
        h, w = rle["size"]
        mask = mask_utils.decode(rle)
        b = mask_boundary(mask, boundary_width(h, w, dilation_ratio))
        out.append(mask_utils.encode(np.asfortranarray(b)))
    return out
