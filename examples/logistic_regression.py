"""A plug-in model family: logistic regression on the handcrafted features.

From the repository root:

    python -m benchmarks run xgb,examples.logistic_regression:family

Under class_weight the harness passes the weights to the pipeline's last step.
"""

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from benchmarks.grid.families import FEATURES, Family, FitContext


def make(context: FitContext):
    """A new, unfitted estimator for one fit; the seed comes from the run."""
    classifier = LogisticRegression(max_iter=1000, random_state=context.seed)
    return make_pipeline(StandardScaler(), classifier)


def family() -> Family:
    return Family(
        name="logreg",
        description="logistic regression on the standardised handcrafted features",
        inputs=(FEATURES,),
        make=make,
    )
