"""Model families behind one interface: XGBoost on features, CNNs on images."""

from models._xgboost import XGBoostClassifier

__all__ = ["XGBoostClassifier"]
