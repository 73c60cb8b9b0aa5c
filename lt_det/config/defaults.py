"""Every config key that lt_det adds to detectron2's config, each with a comment.

detectron2's own defaults are never edited: ``add_lt_config`` only adds new nodes under
``MODEL.LT`` (model side: losses, calibration, heads, backbone, mixup, distillation),
``DATALOADER.LT`` (samplers), ``DATASETS.LT`` (the user's own data sets, registered from the
config) and ``LT`` (evaluation, stages, classification input, solver refinements), grouped
below by concept.
Call it right after ``detectron2.config.get_cfg()``; ``get_lt_cfg()`` does both.
"""
from detectron2.config import CfgNode as CN
from detectron2.config import get_cfg


def add_lt_config(cfg: CN) -> CN:
    """Add lt_det's config keys (with their defaults) to a detectron2 config in place."""
    _C = cfg

    # ------------------------------------------------------------------------------------
    # Model side (MODEL.LT): losses, classifier heads, backbone. Losses are shared by
    # detection and classification (lt_det/losses/, docs/losses.md); their hyperparameters
    # default to the papers' / official code's values.
    # ------------------------------------------------------------------------------------
    _C.MODEL.LT = CN()
    _C.MODEL.LT.LOSS = CN()
    # Name of the loss in lt_det.losses.LOSS_REGISTRY ("SoftmaxCE" is detectron2's baseline).
    _C.MODEL.LT.LOSS.NAME = "SoftmaxCE"
    # Multiplier of the classification loss term.
    _C.MODEL.LT.LOSS.WEIGHT = 1.0

    # EQL (Tan et al., CVPR 2020): sigmoid BCE that ignores negative gradients of tail classes.
    _C.MODEL.LT.LOSS.EQL = CN()
    # lambda: classes with image frequency N_j/N below it are "tail" (T_lambda(f_j) = 1).
    # 1.76e-3 is the paper's value for LVIS v0.5; the LVIS v1 configs set 1.1e-3; 0 makes
    # no class tail (plain sigmoid BCE, the endpoint of a lambda sweep).
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

    # LDAM (Cao et al., NeurIPS 2019): margin Delta_j proportional to n_j^(-1/4).
    _C.MODEL.LT.LOSS.LDAM = CN()
    # Largest margin (that of the rarest class).
    _C.MODEL.LT.LOSS.LDAM.MAX_MARGIN = 0.5
    # s: logits are scaled by s after subtracting the margin (pair with a Cosine head, scale 1).
    _C.MODEL.LT.LOSS.LDAM.SCALE = 30.0

    # Logit-adjusted CE (Menon et al., ICLR 2021): CE(z + tau * log(pi), y), pi = class prior.
    _C.MODEL.LT.LOSS.LOGIT_ADJUSTED = CN()
    # tau; 1.0 is balanced softmax (Ren et al., NeurIPS 2020).
    _C.MODEL.LT.LOSS.LOGIT_ADJUSTED.TAU = 1.0

    # Label smoothing ("LabelSmoothingCE" in LOSS_REGISTRY, He et al., CVPR 2019).
    _C.MODEL.LT.LOSS.LABEL_SMOOTHING = CN()
    # epsilon: probability mass taken from the true class.
    _C.MODEL.LT.LOSS.LABEL_SMOOTHING.EPSILON = 0.1
    # "all": q = (1 - eps) onehot + eps / K (the seed's code, GluonCV, torch); "others":
    # q_y = 1 - eps and eps / (K - 1) on each other class (the equation of He et al.).
    _C.MODEL.LT.LOSS.LABEL_SMOOTHING.SPREAD = "all"
    # Compensation loss "CompensationCE" of Decoupled Optimisation (Cong et al., AAAI 2024, eq. 2):
    # CE(softmax(z - log alpha), y) with a per-class alpha.
    _C.MODEL.LT.LOSS.COMPENSATION = CN()
    # alpha: "ones" (alpha_1 = 1, plain CE), "group" (alpha_2: RHO on the preferred group's
    # classes, 1 - RHO elsewhere) or "reversed_frequency" (alpha_3 = tau = R(L): the class of
    # frequency rank k gets the frequency of rank K - 1 - k).
    _C.MODEL.LT.LOSS.COMPENSATION.ALPHA = "ones"
    # rho_m of alpha_2, in (0, 1) (the paper: 0.8; 0.7 on CIFAR-100-LT).
    _C.MODEL.LT.LOSS.COMPENSATION.RHO = 0.8
    # The preferred group of "group": these class ids if non-empty, else the classes with
    # GROUP_MIN_COUNT <= n_j <= GROUP_MAX_COUNT training images (medium-shot: 20-100).
    _C.MODEL.LT.LOSS.COMPENSATION.CLASSES = []
    _C.MODEL.LT.LOSS.COMPENSATION.GROUP_MIN_COUNT = 20
    _C.MODEL.LT.LOSS.COMPENSATION.GROUP_MAX_COUNT = 100


    # ECM, GOL, BAGS (lt_det/losses/ecm.py, gol.py, bags.py)
    # ECM (Cho & Kraehenbuehl, ECCV 2022): sigmoid BCE(2 z + m_j, y) w_j with margins
    # m_j = 1/4 log(n+_j / n-_j) and weights w_j = a_j log(1 + 1/a_j), a_j = n-_j / n+_j,
    # from image counts n+_j. Its recipe pairs it with a cosine classifier (COSINE_SCALE 20).
    _C.MODEL.LT.LOSS.ECM = CN()
    # Detection: the background's count is this times the summed class counts (the official
    # code's empirical background/foreground RoI ratio of Mask R-CNN).
    _C.MODEL.LT.LOSS.ECM.FG_BG_RATIO = 6.3313
    # GOL (Alexandridis et al., ECCV 2022) has no hyperparameter: BCE with the Gumbel
    # activation exp(-exp(-z)); its recipe sets PREDICTOR.BIAS_PRIOR 0.1192 (bias -2).
    # BAGS (Li et al., CVPR 2020): a softmax per group of classes binned by instance count.
    _C.MODEL.LT.LOSS.BAGS = CN()
    # Group edges on the training instance count: bins [0, 10), [10, 100), [100, 1000),
    # [1000, inf) by default; empty bins are dropped. The background is a group of its own.
    _C.MODEL.LT.LOSS.BAGS.BIN_EDGES = [10, 100, 1000]
    # "others" samples drawn per sample of a group's classes in that group's term (the
    # paper's 8); <= 0 uses every other sample.
    _C.MODEL.LT.LOSS.BAGS.OTHERS_SAMPLE_RATIO = 8.0

    # ------------------------------------------------------------------------------------
    # Post-hoc calibration of a trained detector at inference (lt_det/modeling/calibration/,
    # docs/calibration.md); works with --eval-only on lt_det and stock checkpoints.
    # ------------------------------------------------------------------------------------
    # heads), no retraining; class statistics come from DATASETS.TRAIN.
    _C.MODEL.LT.CALIBRATION = CN()
    # "none", or a name in lt_det.modeling.CALIBRATION_REGISTRY: "NorCal" or "FRACAL".
    _C.MODEL.LT.CALIBRATION.NAME = "none"
    # NorCal (Pan et al., NeurIPS 2021): s_j / n_j^gamma (n_j = training images of class j),
    # background kept, renormalised.
    _C.MODEL.LT.CALIBRATION.NORCAL = CN()
    # gamma: tune it per model on held-out data; 0 (the official default) changes nothing.
    _C.MODEL.LT.CALIBRATION.NORCAL.GAMMA = 0.0
    # Renormalise classes + background per RoI (the paper: essential; False only to ablate).
    _C.MODEL.LT.CALIBRATION.NORCAL.RENORM = True
    # FRACAL (Alexandridis et al., CVPR 2025): logits + w_j, w_j = -log10(C f_j) (f_j = image
    # frequency), scores / D_j^lambda (D_j = fractal dimension of the class's box centres).
    _C.MODEL.LT.CALIBRATION.FRACAL = CN()
    # lambda: exponent of the fractal dimension (the official fractal_l = 2).
    _C.MODEL.LT.CALIBRATION.FRACAL.LAMBDA = 2.0
    # Score rule of the calibrated model: "softmax" (SoftmaxCE-style, background renormalised)
    # or "sigmoid" (per-class sigmoid scores: s_j sigmoid(logit(s_j) + w_j + v_j)).
    _C.MODEL.LT.CALIBRATION.FRACAL.ACTIVATION = "softmax"

    # ------------------------------------------------------------------------------------
    # Heads, backbone and model-side tricks: the RoI box predictor (detection), the image
    # classifier and its ResNet, mixup and distillation (LTTricksClassifier), docs/tricks.md.
    # ------------------------------------------------------------------------------------
    # Box predictor of LTStandardROIHeads / LTCascadeROIHeads (lt_det/modeling/roi_heads/).
    _C.MODEL.LT.PREDICTOR = CN()
    # > 0: cosine (normalised) classifier, logits = scale * cos(x, w_j) + b_j; 0: linear.
    # Seesaw's normalised-linear recipe uses 20.
    _C.MODEL.LT.PREDICTOR.COSINE_SCALE = 0.0
    # In (0, 1): initialise the biases of the C class logits to -log((1 - p) / p), so each
    # sigmoid starts at probability p (EQL: 0.001, focal/federated: 0.01); 0: zero biases.
    _C.MODEL.LT.PREDICTOR.BIAS_PRIOR = 0.0

    _C.MODEL.LT.CLASSIFIER = CN()
    # Number of classes C (must equal the training set's; checked when the loss is built).
    _C.MODEL.LT.CLASSIFIER.NUM_CLASSES = 100
    # Head in lt_det.modeling.CLS_HEAD_REGISTRY: "Linear" or "Cosine".
    _C.MODEL.LT.CLASSIFIER.HEAD = "Linear"
    # Whether the Linear head has a bias (the tau-normalised classifier of Kang et al. has none).
    _C.MODEL.LT.CLASSIFIER.BIAS = True
    # tau of the tau-normalised classifier, w_j / ||w_j||^tau, applied at inference only
    # (Kang et al., ICLR 2020); 0 turns it off.
    _C.MODEL.LT.CLASSIFIER.TAU = 0.0
    # s of the Cosine head, logits s * cos(x, w_j); 1.0 when the loss scales itself (LDAM).
    _C.MODEL.LT.CLASSIFIER.COSINE_SCALE = 16.0
    # Decoupling heads (Kang et al., ICLR 2020). Learnable weight scaling: logits_j = f_j * head(x)_j with f_j learnt and the head frozen.
    # Set it in a stage's OVERRIDES; the scales exist from the start (so checkpoints resume).
    _C.MODEL.LT.CLASSIFIER.LWS = False
    # Nearest class mean on L2-normalised pooled features at evaluation (Kang et al.):
    # "none", "cosine" (cosine to the normalised class means) or "euclidean".
    _C.MODEL.LT.CLASSIFIER.NCM = "none"

    # ResNets of lt_det/modeling/backbone/resnet.py (MODEL.BACKBONE.NAME picks the family:
    # "build_cifar_resnet_backbone" or "build_lt_resnet_backbone").
    _C.MODEL.LT.RESNET = CN()
    # Depth: 6n+2 for the CIFAR family (20, 32, 44, 56, 110), else 10/18/34/50/101/152.
    _C.MODEL.LT.RESNET.DEPTH = 32
    # Normalisation layer: any name detectron2's get_norm knows ("BN", "SyncBN", "GN", ...).
    _C.MODEL.LT.RESNET.NORM = "BN"
    # Groups of "GN", capped at the channel count (16 channels -> 16 groups).
    _C.MODEL.LT.RESNET.NUM_GROUPS = 32
    # Stem in RESNET_STEM_REGISTRY: "cifar" (3x3 conv) or "imagenet" (7x7/2 conv + max pool).
    _C.MODEL.LT.RESNET.STEM = "cifar"
    # Shortcut of blocks that change shape, in RESNET_SHORTCUT_REGISTRY: "pad" (option A of
    # He et al., parameter-free) or "projection" (1x1 conv + norm, option B).
    _C.MODEL.LT.RESNET.SHORTCUT = "pad"
    # Channels of the stem and of the first stage's basic blocks (bottleneck width);
    # 16 for the CIFAR family, 64 for the ImageNet family.
    _C.MODEL.LT.RESNET.WIDTH = 16
    # Zero-gamma: the last norm layer of every residual block starts with gamma = 0.
    _C.MODEL.LT.RESNET.ZERO_GAMMA = False

    # Mixup family, used by the "LTTricksClassifier" meta-architecture.
    _C.MODEL.LT.MIXUP = CN()
    # "none", or a name in lt_det.data.MIXUP_REGISTRY: "InputMixup" (Zhang et al., ICLR
    # 2018), "ManifoldMixup" (Verma et al., ICML 2019) or "Remix" (Chou et al., ECCV-W 2020).
    _C.MODEL.LT.MIXUP.NAME = "none"
    # alpha of Beta(alpha, alpha), the distribution of the mixing coefficient lambda.
    _C.MODEL.LT.MIXUP.ALPHA = 1.0
    # Manifold mixup: hidden states mixed after this backbone stage ("res2", "res3", ...) or
    # after global pooling ("pool", the best location in Zhang et al., AAAI 2021).
    _C.MODEL.LT.MIXUP.LOCATION = "pool"
    # Remix: kappa, the class-size ratio from which the label goes to the minority class.
    _C.MODEL.LT.MIXUP.REMIX_KAPPA = 3.0
    # Remix: tau, the lambda threshold under which the minority label takes all the weight.
    _C.MODEL.LT.MIXUP.REMIX_TAU = 0.5

    # Knowledge distillation (Hinton et al., 2015), loss (1 - w) CE + w T^2 KL(p_t^T || p_s^T).
    _C.MODEL.LT.DISTILL = CN()
    # Teacher config file ("" disables distillation) and its weights.
    _C.MODEL.LT.DISTILL.TEACHER_CONFIG = ""
    _C.MODEL.LT.DISTILL.TEACHER_WEIGHTS = ""
    # Temperature T.
    _C.MODEL.LT.DISTILL.TEMPERATURE = 1.0
    # Weight w of the distillation term.
    _C.MODEL.LT.DISTILL.WEIGHT = 0.5

    # ------------------------------------------------------------------------------------
    # Long-tailed samplers (lt_det/data/samplers/, docs/samplers.md). A sampler is chosen by
    # detectron2's own DATALOADER.SAMPLER_TRAIN: names registered in
    # lt_det.data.samplers.SAMPLER_REGISTRY are built by lt_det, every other name by detectron2.
    # ------------------------------------------------------------------------------------
    _C.DATALOADER.LT = CN()
    # Repeat-factor sampling ("RepeatFactorSampler") reads detectron2's own keys
    # DATALOADER.REPEAT_THRESHOLD (t; LVIS uses 0.001) and DATALOADER.REPEAT_SQRT.
    # Seed of every lt_det sampler's stream; -1: SEED if >= 0, else detectron2's shared
    # random seed (then a resumed run draws a new stream).
    _C.DATALOADER.LT.SEED = -1
    # Images without annotations (when DATALOADER.FILTER_EMPTY_ANNOTATIONS keeps them):
    # "keep" (repeat factor 1; class-level samplers treat them as one extra class) or "drop"
    # (never drawn).
    _C.DATALOADER.LT.EMPTY_IMAGES = "keep"
    # RepeatFactorSampler: rounding of the fractional repeat factor r(I) per epoch:
    # "stochastic" (floor(r) + Bernoulli(r - floor(r)), detectron2) or "ceil" (mmdetection's
    # ClassBalancedDataset, EQLv2).
    _C.DATALOADER.LT.REPEAT_ROUNDING = "stochastic"
    # ClassAwareSampler: consecutive samples drawn per class visit (Kang et al.'s code uses 4 on
    # ImageNet-LT); classes are visited in a new random order each round.
    _C.DATALOADER.LT.CLASS_AWARE_SAMPLES_PER_CLASS = 1
    # QPowerSampler: q of p_j ∝ n_j^q (1: instance-balanced, 0.5: square-root, 0: class-balanced).
    _C.DATALOADER.LT.Q = 0.5

    # ProgressiveSampler: p_j(t) = (1 - t/T) p_j^IB + (t/T) p_j^CB.
    _C.DATALOADER.LT.PROGRESSIVE = CN()
    # Unit of t and T: "iter" (t = iteration) or "epoch" (t = iteration // epoch length,
    # epoch = ceil(num_train_images / SOLVER.IMS_PER_BATCH) iterations, as in LT.STAGES).
    _C.DATALOADER.LT.PROGRESSIVE.UNIT = "epoch"
    # T in UNIT; 0: the whole run (SOLVER.MAX_ITER, or its number of epochs, rounded up).
    _C.DATALOADER.LT.PROGRESSIVE.TOTAL = 0
    # t at which the schedule starts (p = p^IB before), in UNIT; t/T reads (t - START)/(T - START).
    _C.DATALOADER.LT.PROGRESSIVE.START = 0

    # GroupPreferredSampler (Decoupled Optimisation): the group gets total probability RHO.
    _C.DATALOADER.LT.GROUP_PREFERRED = CN()
    # rho: total probability of the preferred group (the paper: 0.8, 0.7 on CIFAR-100-LT).
    _C.DATALOADER.LT.GROUP_PREFERRED.RHO = 0.8
    # The group: these contiguous class ids if non-empty, else the classes whose number of
    # training samples (images) n_j lies in [MIN_COUNT, MAX_COUNT] (default: the medium-shot
    # classes of Liu et al., 20-100).
    _C.DATALOADER.LT.GROUP_PREFERRED.CLASSES = []
    _C.DATALOADER.LT.GROUP_PREFERRED.MIN_COUNT = 20
    _C.DATALOADER.LT.GROUP_PREFERRED.MAX_COUNT = 100
    # q inside each part: p_j ∝ n_j^q within the group and within the rest (1: uniform over
    # samples, the paper's choice).
    _C.DATALOADER.LT.GROUP_PREFERRED.WITHIN_Q = 1.0
    # RandomUnderSampler: True keeps one random subset of n_min samples per class for the whole
    # run (a balanced data set built once); False draws a new subset every epoch.
    _C.DATALOADER.LT.UNDER_SAMPLING_FIXED_SUBSET = True


    # ------------------------------------------------------------------------------------
    # A user's own data sets, registered from the config (lt_det/data/datasets/from_config.py,
    # README "Your own data"). tools/train_net.py registers them in every process it starts,
    # before DATASETS.TRAIN / TEST are checked, so the names can be used there.
    # ------------------------------------------------------------------------------------
    _C.DATASETS.LT = CN()
    # List of dicts, one per set:
    #   {"NAME": n, "JSON_FILE": f, "IMAGE_ROOT": r}                 LVIS-format JSON (LVIS eval)
    #   {"NAME": n, "JSON_FILE": f, "IMAGE_ROOT": r, "FORMAT": "coco"}  COCO JSON (COCO eval)
    #   {"NAME": p, "ROOT": r}       image folder r/<split>/<class>/<image>, registered as
    #                                p_train, p_val, p_test for the split folders present
    #                                (optional "SPLITS": [...], "TRAIN_SPLIT": "train")
    # Class names and statistics come from the files on first use; nothing is read at start-up
    # beyond the training set that the class-count check needs.
    _C.DATASETS.LT.REGISTER = []

    # ------------------------------------------------------------------------------------
    # Evaluation (lt_det/evaluation/).
    # ------------------------------------------------------------------------------------
    _C.LT = CN()
    # Evaluation outputs written next to the metrics (per-class CSV and plots).
    _C.LT.EVAL = CN()
    # Write per-class AP (detection) / accuracy (classification) as CSV under OUTPUT_DIR.
    _C.LT.EVAL.PER_CLASS_CSV = True
    # Write plots (per-class score against training count, r/c/f bands) under OUTPUT_DIR.
    _C.LT.EVAL.PLOTS = True
    # Classification shot groups (few_below, many_above): few < 20 <= medium <= 100 < many
    # training images (Liu et al., CVPR 2019); smaller sets need smaller cut-offs.
    _C.LT.EVAL.SHOT_SPLIT = (20, 100)
    # LVIS evaluation protocols (LTLVISEvaluator, docs/evaluation.md).
    _C.LT.EVAL.LVIS = CN()
    # Protocols LTLVISEvaluator reports, any of:
    #   "standard": lvis-api's (300 detections per image); result keys "bbox", "segm".
    #   "fixed": AP-fixed (Dave et al. 2021): the top DETS_PER_CLASS detections of each class
    #            over the whole set, no per-image cap; keys "bbox_fixed", "segm_fixed".
    #   "pooled": AP-pool of the same detections: precision over the detections of all / rare
    #            / common / frequent classes ranked together (AP, APr, APc, APf);
    #            keys "bbox_pooled", "segm_pooled".
    # "fixed"/"pooled" need a model that outputs more than 300 detections per image
    # (TEST.DETECTIONS_PER_IMAGE, a low ROI_HEADS.SCORE_THRESH_TEST), else AP-fixed is low.
    _C.LT.EVAL.LVIS.PROTOCOLS = ["standard"]
    # Detections per class of "fixed" and "pooled" (the paper's 10,000 for LVIS v1 val).
    _C.LT.EVAL.LVIS.DETS_PER_CLASS = 10000
    # Also evaluate boundary AP (Cheng et al. 2021, IoU type "boundary": min(mask IoU,
    # boundary IoU)) in each protocol, for models that predict masks; keys "boundary", ...
    _C.LT.EVAL.LVIS.BOUNDARY = False
    # Boundary width d as a fraction of the image diagonal (Boundary IoU's dilation ratio).
    _C.LT.EVAL.LVIS.BOUNDARY_DILATION_RATIO = 0.02

    # ------------------------------------------------------------------------------------
    # Stages: one run, several stages, and classifier re-training (lt_det/engine/,
    # lt_det/modeling/freeze.py, docs/tricks.md).
    # ------------------------------------------------------------------------------------
    # Multi-stage schedule (lt_det/engine/stage_schedule.py): one run, several stages.
    # A list of dicts, each {"NAME": str, "START_EPOCH": int (or "START_ITER": int),
    # "OVERRIDES": [KEY, VALUE, ...] in config KEY/VALUE form, "REINIT": [module paths]}.
    # Before the first stage's start the top-level config is in force. Epochs are
    # ceil(num_train_images / SOLVER.IMS_PER_BATCH) iterations.
    _C.LT.STAGES = []
    # Module paths in the model (e.g. ["backbone"]) whose parameters are frozen and whose
    # BatchNorm statistics are fixed; a stage may override it (cRT, LWS: ["backbone"]).
    _C.LT.FREEZE = []
    # training on a subset of classes (lt_det/data/class_subset.py)
    # Classes left out of the training data, at the top level or in a stage's OVERRIDES
    # (Li et al.'s three-stage recipe trains stage 2 on "the residual set with class 0
    # removed"). The classifier keeps all its outputs; labels keep their ids.
    _C.LT.CLASS_SUBSET = CN()
    # Names (thing_classes of DATASETS.TRAIN) of classes whose samples are removed.
    _C.LT.CLASS_SUBSET.REMOVE = []
    # In (0, 1): also remove every class holding more than this share of the training
    # images (n_c / N on the full training set); 0 turns the rule off.
    _C.LT.CLASS_SUBSET.REMOVE_SHARE_ABOVE = 0.0

    # Decoupled Optimisation (Cong et al., AAAI 2024; projects/DecoupledOptimisation).
    # Parameter decoupling (lt_det/modeling/param_masks.py, lt_det/engine/param_decoupling.py)
    # and test-time aggregation of the "DecoupledClassifier" meta-architecture. Stages are
    # the top-level config (stage 1) and the entries of LT.STAGES (stages 2..T).
    _C.LT.DECOUPLE = CN()
    # Turn the decoupling hook on (pruning at the end of each stage, masks, sub-models).
    _C.LT.DECOUPLE.ENABLED = False
    # Class groups of the stages, by training images per class: many >= MANY_MIN, few <=
    # FEW_MAX, medium in between (Liu et al.: > 100 / < 20); with 4 stages the medium group
    # splits at MEDIUM_SPLIT (medium-high >= it). REVERSE: train the groups few first.
    _C.LT.DECOUPLE.MANY_MIN = 101
    _C.LT.DECOUPLE.FEW_MAX = 19
    _C.LT.DECOUPLE.MEDIUM_SPLIT = 50
    _C.LT.DECOUPLE.REVERSE = False
    # Importance estimator: "taylor" ((w g)^2), "fisher" (g^2) or "l1" (|w|).
    _C.LT.DECOUPLE.IMPORTANCE = "taylor"
    # N: batches of the stage group's training samples over which the importance is averaged.
    _C.LT.DECOUPLE.IMPORTANCE_BATCHES = 8
    # gamma_best of stages 1..T-1 (fraction of the stage's free elements pruned; the last
    # stage keeps all). -1: choose it by a scan of gamma = 0, 0.1, ..., 0.9 (Fig. 4).
    # The paper: 0.5 in stage 1; 0.8 in stage 2 (0.6 on iNaturalist, CIFAR-100-LT beta=50).
    _C.LT.DECOUPLE.GAMMAS = [0.5, 0.8]
    # Batches of the group's samples on which each scan point's accuracy is measured.
    _C.LT.DECOUPLE.SCAN_BATCHES = 4
    # Delta t: progressive pruning steps (eq. 4), each followed by RETRAIN_ITERS iterations;
    # the last PRUNE_STEPS * RETRAIN_ITERS iterations of stages 1..T-1 are the pruning phase.
    _C.LT.DECOUPLE.PRUNE_STEPS = 10
    _C.LT.DECOUPLE.RETRAIN_ITERS = 10
    # "layer": every tensor prunes the fraction gamma of its free elements; "global": one
    # importance threshold across tensors.
    _C.LT.DECOUPLE.SCOPE = "layer"
    # Module paths whose parameters are not decoupled (always trained, e.g. nothing).
    _C.LT.DECOUPLE.EXCLUDE = []
    # Test-time aggregation of the T sub-models: "instance" (lambda per test image),
    # "group" (one lambda for the test set, learnt online) or "average" (1 / T).
    _C.LT.DECOUPLE.AGGREGATION = "instance"
    # Adam steps and step size on lambda's softmax logits per batch (5 steps of 0.2 can move
    # a logit by about 1, lambda from 1/3 to about 0.6 with T = 3).
    _C.LT.DECOUPLE.TTA_STEPS = 5
    _C.LT.DECOUPLE.TTA_LR = 0.2
    # The two random views: horizontal flip (p = 0.5) and a random shift of up to TTA_PAD
    # pixels (zero padding, then a crop of the original size).
    _C.LT.DECOUPLE.TTA_PAD = 4
    # Evaluate sub-model t alone instead of the aggregation (0: aggregate all T).
    _C.LT.DECOUPLE.EVAL_SUBMODEL = 0
    # Batches per class group for the plot of average parameter importance per group
    # (Fig. 1b), written at the end of training; 0 skips it.
    _C.LT.DECOUPLE.IMPORTANCE_PLOT_BATCHES = 4

    # ------------------------------------------------------------------------------------
    # Classification input and batch augmentations (lt_det/data/, docs/tricks.md).
    # ------------------------------------------------------------------------------------
    # Classification inputs (lt_det/data/classification/). Images are uint8 RGB (INPUT.FORMAT
    # "BGR" flips them); normalisation with MODEL.PIXEL_MEAN/STD happens in the model.
    _C.LT.CLS_INPUT = CN()
    # Training transform in CLS_TRANSFORM_REGISTRY: "PadCropFlip" (CIFAR), "RandomResizedCropFlip"
    # (ImageNet style), "ResizeCenterCrop" or "Identity".
    _C.LT.CLS_INPUT.TRAIN_TRANSFORM = "PadCropFlip"
    # Test transform in CLS_TRANSFORM_REGISTRY (usually "ResizeCenterCrop" or "Identity").
    _C.LT.CLS_INPUT.TEST_TRANSFORM = "ResizeCenterCrop"
    # Output side of the crops (32 for CIFAR, 224 for ImageNet-style sets).
    _C.LT.CLS_INPUT.CROP_SIZE = 32
    # Zero padding on each side before the random crop of PadCropFlip.
    _C.LT.CLS_INPUT.PAD = 4
    # Random horizontal flip (p = 0.5) in the training transforms.
    _C.LT.CLS_INPUT.FLIP = True
    # Shorter side after resizing in ResizeCenterCrop (36 for CIFAR, 256 for ImageNet style).
    _C.LT.CLS_INPUT.RESIZE_SHORT = 36
    # Area fraction range and aspect-ratio range of RandomResizedCropFlip (Szegedy et al.).
    _C.LT.CLS_INPUT.RRC_SCALE = (0.08, 1.0)
    _C.LT.CLS_INPUT.RRC_RATIO = (3.0 / 4.0, 4.0 / 3.0)
    # Images per batch at test time (all ranks together, like SOLVER.IMS_PER_BATCH).
    _C.LT.CLS_INPUT.TEST_IMS_PER_BATCH = 256
    # Strong augmentation after LT.CLS_INPUT.TRAIN_TRANSFORM, per image (torchvision v2):
    # "none", "randaugment" (RandAugment N ops of magnitude M), "autoaugment_imagenet" or
    # "autoaugment_cifar10" (AutoAugment's learnt policies).
    _C.LT.CLS_INPUT.STRONG_AUGMENT = "none"
    _C.LT.CLS_INPUT.RANDAUGMENT_N = 2
    _C.LT.CLS_INPUT.RANDAUGMENT_M = 9
    # Image files of detection and classification sets (lt_det/data/corrupt_images.py).
    _C.LT.INPUT = CN()
    # A truncated or unreadable image file: "error" (stop with one line naming the file) or
    # "skip" (drop it with a warning that counts the files skipped so far). Detection skips in
    # training only (a skipped test image would score as missed); classification drops the
    # file from its batch in training and test.
    _C.LT.INPUT.ON_CORRUPT = "error"
    cfg.register_renamed_key("LT.CLS_INPUT.ON_CORRUPT", "LT.INPUT.ON_CORRUPT")

    # CAM-based balance-sampling augmentation (Zhang et al., AAAI 2021, Sec. 4.4).
    _C.LT.CAM_BS = CN()
    # Generate the images when the stage that sets this to True starts (with the current
    # model) and add them to the training set for that stage.
    _C.LT.CAM_BS.ENABLED = False
    # Foreground: pixels whose CAM exceeds this fraction of the image's mean CAM.
    _C.LT.CAM_BS.THRESHOLD = 0.75
    # Class i receives n_max + n_min - n_i generated images, capped at this (0 = no cap;
    # the reference caps large sets, not CIFAR).
    _C.LT.CAM_BS.MAX_PER_CLASS = 0
    # Images processed per batch when generating.
    _C.LT.CAM_BS.BATCH_SIZE = 64
    # Where the images and their index are cached ("" = OUTPUT_DIR/cam_bs).
    _C.LT.CAM_BS.CACHE_DIR = ""

    # ------------------------------------------------------------------------------------
    # Training refinements (lt_det/solver/).
    # ------------------------------------------------------------------------------------

    # Training refinements of He et al. (CVPR 2019), lt_det/solver/ and lt_det/modeling/backbone/.
    _C.LT.SOLVER = CN()
    # Linear scaling: lr = SOLVER.BASE_LR * SOLVER.IMS_PER_BATCH / REFERENCE_BATCH_SIZE.
    _C.LT.SOLVER.LINEAR_SCALING = False
    # The batch size at which SOLVER.BASE_LR is given (256 in Goyal et al. / He et al.).
    _C.LT.SOLVER.REFERENCE_BATCH_SIZE = 256
    # No weight decay on biases and on normalisation layers' gamma and beta.
    _C.LT.SOLVER.NO_BIAS_DECAY = False
    return cfg

def get_lt_cfg() -> CN:
    """detectron2's default config with lt_det's keys added."""
    return add_lt_config(get_cfg())
