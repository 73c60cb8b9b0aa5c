"""Every config key that lt_det adds to detectron2's config, each with a comment.

detectron2's own defaults are never edited: ``add_lt_config`` only adds new nodes under
``MODEL.LT`` (model-side tricks: losses, heads), ``DATALOADER.LT`` (samplers) and ``LT``
(everything that is not model or data loader: evaluation outputs, demo data, schedules).
Call it right after ``detectron2.config.get_cfg()``; ``get_lt_cfg()`` does both.
"""
from detectron2.config import CfgNode as CN
from detectron2.config import get_cfg


def add_lt_config(cfg: CN) -> CN:
    """Add lt_det's config keys (with their defaults) to a detectron2 config in place."""
    _C = cfg

    # ------------------------------------------------------------------------------------
    # Classification losses (lt_det/losses/), shared by detection and classification.
    # ------------------------------------------------------------------------------------
    _C.MODEL.LT = CN()
    _C.MODEL.LT.LOSS = CN()
    # Name of the loss in lt_det.losses.LOSS_REGISTRY ("SoftmaxCE" is detectron2's baseline).
    _C.MODEL.LT.LOSS.NAME = "SoftmaxCE"
    # Multiplier of the classification loss term.
    _C.MODEL.LT.LOSS.WEIGHT = 1.0

    # ---- BEGIN issue 4: per-loss hyperparameters and the LT box predictor --------------
    # Defaults are the papers' / official code's values; see docs/losses.md.
    # EQL (Tan et al., CVPR 2020): sigmoid BCE that ignores negative gradients of tail classes.
    _C.MODEL.LT.LOSS.EQL = CN()
    # lambda: classes with image frequency N_j/N below it are "tail" (T_lambda(f_j) = 1).
    # 1.76e-3 is the paper's value for LVIS v0.5; the LVIS v1 configs set 1.1e-3.
    _C.MODEL.LT.LOSS.EQL.LAMBDA = 1.76e-3
    # EQLv2 (Tan et al., CVPR 2021): gradient-guided re-weighting of sigmoid BCE.
    _C.MODEL.LT.LOSS.EQLV2 = CN()
    # gamma: slope of the mapping f(x) = 1 / (1 + exp(-gamma (x - mu))) of the pos/neg ratio.
    _C.MODEL.LT.LOSS.EQLV2.GAMMA = 12.0
    # mu: centre of that mapping.
    _C.MODEL.LT.LOSS.EQLV2.MU = 0.8
    # alpha: positive weight is 1 + alpha (1 - negative weight).
    _C.MODEL.LT.LOSS.EQLV2.ALPHA = 4.0
    # Seesaw (Wang et al., CVPR 2021): softmax CE with mitigation and compensation factors.
    _C.MODEL.LT.LOSS.SEESAW = CN()
    # p: mitigation exponent, M_ij = (N_j / N_i)^p when N_j < N_i.
    _C.MODEL.LT.LOSS.SEESAW.P = 0.8
    # q: compensation exponent, C_ij = (sigma_j / sigma_i)^q when sigma_j > sigma_i.
    _C.MODEL.LT.LOSS.SEESAW.Q = 2.0
    # eps: lower clamp of sigma_i in the compensation factor.
    _C.MODEL.LT.LOSS.SEESAW.EPS = 1e-2
    # Federated loss (Zhou et al., 2021): sigmoid BCE on a per-batch subset of classes.
    _C.MODEL.LT.LOSS.FEDERATED = CN()
    # Number of classes per batch: the present ones plus sampled negatives up to this count.
    _C.MODEL.LT.LOSS.FEDERATED.NUM_CLASSES = 50
    # Negatives are sampled with probability proportional to image_count ** this power.
    _C.MODEL.LT.LOSS.FEDERATED.FREQ_WEIGHT_POWER = 0.5
    # Cost-sensitive CE (BagofTricks-LT): weight (n_min / n_c) ** gamma per class.
    _C.MODEL.LT.LOSS.CSCE = CN()
    # gamma: exponent of n_min / n_c (1.0 = the plain inverse-frequency ratio).
    _C.MODEL.LT.LOSS.CSCE.GAMMA = 1.0
    # Weight of the background label in detection (foreground weights average 1).
    _C.MODEL.LT.LOSS.CSCE.BACKGROUND_WEIGHT = 1.0
    # Class-balanced softmax CE (Cui et al., CVPR 2019), weights (1 - beta) / (1 - beta^n_c).
    _C.MODEL.LT.LOSS.CLASS_BALANCED_CE = CN()
    # beta: effective-number hyperparameter in [0, 1).
    _C.MODEL.LT.LOSS.CLASS_BALANCED_CE.BETA = 0.999
    # Weight of the background label in detection (foreground weights average 1).
    _C.MODEL.LT.LOSS.CLASS_BALANCED_CE.BACKGROUND_WEIGHT = 1.0
    # Sigmoid focal loss (Lin et al., ICCV 2017).
    _C.MODEL.LT.LOSS.FOCAL = CN()
    # gamma: focusing exponent of (1 - p_t).
    _C.MODEL.LT.LOSS.FOCAL.GAMMA = 2.0
    # alpha: weight of positives (1 - alpha for negatives); a negative value disables it.
    _C.MODEL.LT.LOSS.FOCAL.ALPHA = 0.25
    # Class-balanced sigmoid focal loss (Cui et al., CVPR 2019).
    _C.MODEL.LT.LOSS.CB_FOCAL = CN()
    # beta: effective-number hyperparameter in [0, 1).
    _C.MODEL.LT.LOSS.CB_FOCAL.BETA = 0.999
    # gamma: focusing exponent of (1 - p_t).
    _C.MODEL.LT.LOSS.CB_FOCAL.GAMMA = 0.5
    # Weight of background RoIs in detection (foreground weights average 1).
    _C.MODEL.LT.LOSS.CB_FOCAL.BACKGROUND_WEIGHT = 1.0

    # Box predictor of LTStandardROIHeads / LTCascadeROIHeads (lt_det/modeling/roi_heads/).
    _C.MODEL.LT.PREDICTOR = CN()
    # Name in lt_det.modeling.BOX_PREDICTOR_REGISTRY.
    _C.MODEL.LT.PREDICTOR.NAME = "LTFastRCNNOutputLayers"
    # > 0: cosine (normalised) classifier, logits = scale * cos(x, w_j) + b_j; 0: linear.
    # Seesaw's normalised-linear recipe uses 20.
    _C.MODEL.LT.PREDICTOR.COSINE_SCALE = 0.0
    # In (0, 1): initialise the biases of the C class logits to -log((1 - p) / p), so each
    # sigmoid starts at probability p (EQL: 0.001, focal/federated: 0.01); 0: zero biases.
    _C.MODEL.LT.PREDICTOR.BIAS_PRIOR = 0.0
    # ---- END issue 4 -----------------------------------------------------------------------

    # ------------------------------------------------------------------------------------
    # Long-tailed samplers (lt_det/data/samplers/). A sampler is chosen by detectron2's own
    # DATALOADER.SAMPLER_TRAIN: names registered in lt_det.data.samplers.SAMPLER_REGISTRY
    # are built by lt_det, every other name by detectron2.
    # ------------------------------------------------------------------------------------
    _C.DATALOADER.LT = CN()

    # ------------------------------------------------------------------------------------
    # Everything else.
    # ------------------------------------------------------------------------------------
    _C.LT = CN()
    # Evaluation outputs written next to the metrics (per-class CSV and plots).
    _C.LT.EVAL = CN()
    # Write per-class AP (detection) / accuracy (classification) as CSV under OUTPUT_DIR.
    _C.LT.EVAL.PER_CLASS_CSV = True
    # Write plots (per-class score against training count, r/c/f bands) under OUTPUT_DIR.
    _C.LT.EVAL.PLOTS = True
    return cfg


def get_lt_cfg() -> CN:
    """detectron2's default config with lt_det's keys added."""
    return add_lt_config(get_cfg())
