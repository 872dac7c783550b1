"""The built-in model families: one spec and one factory each."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from benchmarks.grid.families._spec import (
    EMBEDDINGS,
    FEATURES,
    IMAGES,
    Budget,
    Family,
    FitContext,
    mean_of,
    network_budget,
    network_epochs,
)
from benchmarks.grid.profiles import Profile

#: XGBoost threads a trial: per-round synchronisation outweighs the work of a
#: second thread on these small tables (docs/results-isic9.md has the timings).
XGB_THREADS = 1
#: The course trained its network 20 epochs, batch 32, no early stopping.
SEED_CNN_BATCH = 32


def _trees_budget(profile: Profile, n_train: int) -> Budget:
    """At most the profile's boosting rounds over the training rows."""
    return Budget(rounds=profile.xgb_max_rounds)


def _trees(context: FitContext) -> Any:
    from models import XGBoostClassifier

    return XGBoostClassifier(
        n_estimators=context.profile.xgb_max_rounds,
        learning_rate=context.profile.xgb_learning_rate,
        random_state=context.seed,
        n_jobs=XGB_THREADS,
    )


#: Inverse L2 penalty of the linear family: strong, so that it leans on the
#: broad trends of the features. On isic9 -> ham10000-dev and the reverse
#: (docs/generalization.md) it carried over better than weaker penalties.
LINEAR_C = 0.01


def _linear(context: FitContext, melanoma_head: bool = False) -> Any:
    """Standardised columns into the strongly penalised logistic regression;
    with ``melanoma_head``, its melanoma log-odds averaged with a
    melanoma-against-the-rest copy's (models.MelanomaHeadClassifier)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from models import MelanomaHeadClassifier

    regression = LogisticRegression(
        C=LINEAR_C, max_iter=2000, random_state=context.seed
    )
    return make_pipeline(
        StandardScaler(),
        MelanomaHeadClassifier(regression) if melanoma_head else regression,
    )


def _linear_with_head(context: FitContext) -> Any:
    return _linear(context, melanoma_head=True)


def _camera_independent(names: Sequence[str]) -> list[int]:
    from features import camera_independent

    return camera_independent(names)


def _dermoscopy(names: Sequence[str]) -> list[int]:
    from features import dermoscopy_columns

    return dermoscopy_columns(names)


def _network(architecture: str, image_size: int, **options: Any):
    def make(context: FitContext) -> Any:
        from models import KerasImageClassifier, default_batch_size

        batch = default_batch_size(context.n_fit)
        return KerasImageClassifier(
            architecture=architecture,
            image_size=image_size,
            epochs=network_epochs(
                context.profile, context.n_train, context.n_fit, batch
            ),
            batch_size=batch,
            # Fixed epochs on a cosine schedule and every training image: on isic9
            # an inner hold-out for early stopping cost accuracy and never stopped
            # early.
            patience=None,
            validation_fraction=0.0,
            n_threads=context.n_threads,
            precision=context.precision,
            seed=context.seed,
            classes=context.classes or None,
            **options,
            **context.options,
        )

    return make


def _seed_cnn_budget(profile: Profile, n_train: int) -> Budget:
    """Its own epochs at the full batch, the last batch of an epoch short."""
    steps = profile.seed_cnn_epochs * math.ceil(max(1, n_train) / SEED_CNN_BATCH)
    return Budget(steps=steps, batch=SEED_CNN_BATCH)


def _seed_cnn(context: FitContext) -> Any:
    from models import KerasImageClassifier

    return KerasImageClassifier(
        architecture="seed-cnn",
        image_size=180,
        epochs=context.profile.seed_cnn_epochs,
        batch_size=SEED_CNN_BATCH,
        patience=None,
        validation_fraction=0.0,
        n_threads=context.n_threads,
        precision=context.precision,
        seed=context.seed,
        classes=context.classes or None,
    )


BUILTIN: tuple[Family, ...] = (
    Family(
        name="xgb",
        description="XGBoost on the 224 handcrafted ABCD/colour/texture/structure "
        "features",
        inputs=(FEATURES,),
        make=_trees,
        budget=_trees_budget,
        default=True,
        colour=0,
    ),
    Family(
        name="cnn",
        description="our small CNN at 48x48 (batch norm, global pooling, dihedral "
        "augmentation)",
        inputs=(IMAGES,),
        image_size=48,
        make=_network("cnn", 48),
        budget=network_budget,
        default=True,
        colour=1,
    ),
    Family(
        name="hybrid",
        description="XGBoost on the same fold's cnn embeddings plus the handcrafted "
        "features",
        inputs=(EMBEDDINGS, FEATURES),
        parts=("cnn",),
        make=_trees,
        budget=_trees_budget,
        default=True,
        colour=2,
    ),
    Family(
        name="fusion",
        description="the mean of the same fold's xgb and cnn probabilities (late "
        "fusion)",
        parts=("xgb", "cnn"),
        combine=mean_of,
        default=True,
        colour=5,
    ),
    Family(
        name="xgb-invariant",
        description="XGBoost on the camera-independent handcrafted features: "
        "asymmetry, border, colours relative to the skin, dermoscopic colours",
        inputs=(FEATURES,),
        feature_columns=_camera_independent,
        make=_trees,
        budget=_trees_budget,
        default=True,
        acquisition_invariant=True,
        colour=6,
    ),
    Family(
        name="linear-invariant",
        description="multinomial logistic regression (strong L2 penalty) on the "
        "camera-independent handcrafted features",
        inputs=(FEATURES,),
        feature_columns=_camera_independent,
        make=_linear,
        default=True,
        acquisition_invariant=True,
        colour=7,
    ),
    Family(
        name="linear-dermoscopy",
        description="multinomial logistic regression (strong L2 penalty) on the "
        "camera-independent features plus the 7-point checklist's dermoscopic "
        "structures, its melanoma log-odds averaged with a melanoma-against-the-"
        "rest regression's",
        inputs=(FEATURES,),
        feature_columns=_dermoscopy,
        make=_linear_with_head,
        default=True,
        colour=8,
    ),
    Family(
        name="seed-cnn",
        description="the course network at 180x180, exactly; the reference row",
        inputs=(IMAGES,),
        image_size=180,
        make=_seed_cnn,
        budget=_seed_cnn_budget,
        reference=True,
        default=True,
        # The course's network, colours as shot.
        preprocessed=False,
        colour=4,
    ),
    Family(
        name="transfer",
        description="a keras.applications backbone (MobileNetV3Small) at 96x96 with "
        "a new head; ImageNet weights from a local file: --model-option "
        "transfer.weights=FILE",
        inputs=(IMAGES,),
        image_size=96,
        make=_network("transfer", 96),
        budget=network_budget,
        colour=3,
    ),
)
