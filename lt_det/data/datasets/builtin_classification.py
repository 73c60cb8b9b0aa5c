"""Registers lt_det's named classification sets (nothing is read until a set is requested).

* ``cifar{10,100}_lt_{200,100,50,10}_train``, ``cifar{10,100}_lt_test`` (cifar_lt.py);
* ``imagenet_lt_{train,val,test}``, ``places_lt_{train,val,test}`` (txt_split.py);
* ``inat2018_{train,val}`` (inaturalist.py);
* ``lt_images_{train,val}``: the generated demo set; ``lt_images_tiny_{train,val}`` for tests;
* ``lt_sar_{train,test}``: the generated SAR-like vehicle set (lt_sar.py);
  ``lt_sar_tiny_{train,test}`` for tests.
"""
from .cifar_lt import register_all_cifar_lt
from .inaturalist import register_all_inaturalist
from .lt_images import LTImagesSpec, register_lt_images
from .lt_sar import LTSARSpec, register_lt_sar
from .txt_split import register_all_txt_splits

LT_IMAGES_SPECS = {
    "lt_images": LTImagesSpec(),
    "lt_images_tiny": LTImagesSpec(num_classes=6, max_train=60, min_train=4, val_per_class=12, seed=1),
}

LT_SAR_SPECS = {
    "lt_sar": LTSARSpec(),
    "lt_sar_tiny": LTSARSpec(head_train=60, tail_train=2, test_per_class=4, image_size=32, seed=1),
}

register_all_cifar_lt()
register_all_txt_splits()
register_all_inaturalist()
for _prefix, _spec in LT_IMAGES_SPECS.items():
    register_lt_images(_prefix, _spec)
for _prefix, _spec in LT_SAR_SPECS.items():
    register_lt_sar(_prefix, _spec)
