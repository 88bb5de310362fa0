"""Calibrated confidence for two decisions: is the question in scope, and does the chosen
rule card fit it.

Both are logistic regressions (scikit-learn) over the features ``decide`` logs for each
question. They are fitted on the training split, their thresholds are chosen on the
validation split, and the result is stored as plain numbers in ``data/calibration.json``
(no pickles), so answering needs only numpy. ``netralitas calibrate`` refits them.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

# Which features each model reads (see decide.features).
SCOPE_FEATURES = ["top_sim", "lexical", "coverage", "domain_terms", "unknown_names",
                  "english", "action_terms", "is_card"]
FIT_FEATURES = ["top_sim", "margin", "lexical_share", "coverage", "asked_sim", "title_cover",
                "actor_fits", "excluded", "english"]


@dataclass
class Model:
    """A fitted logistic regression on standardised features."""

    features: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float

    def probability(self, feats: dict[str, float]) -> float:
        z = self.intercept
        for name, mu, sd, w in zip(self.features, self.mean, self.scale, self.coef, strict=True):
            z += w * (feats.get(name, 0.0) - mu) / (sd or 1.0)
        return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))


@dataclass
class Calibration:
    scope: Model | None = None
    fit: Model | None = None
    thresholds: dict[str, float] = field(default_factory=dict)
    trained_on: dict[str, Any] = field(default_factory=dict)

    def in_scope(self, feats: dict[str, float]) -> float:
        return self.scope.probability(feats) if self.scope else 1.0

    def fits(self, feats: dict[str, float]) -> float:
        return self.fit.probability(feats) if self.fit else 1.0

    def threshold(self, name: str) -> float:
        return self.thresholds.get(name, 0.0)

    @classmethod
    def load(cls, path: Path | None = None) -> Calibration:
        """The shipped calibration, or the one at ``path``."""
        raw = (path.read_text("utf-8") if path else
               resources.files("assistant.data").joinpath("calibration.json").read_text("utf-8"))
        data = json.loads(raw)
        return cls(
            scope=Model(**data["scope"]) if data.get("scope") else None,
            fit=Model(**data["fit"]) if data.get("fit") else None,
            thresholds={k: float(v) for k, v in data.get("thresholds", {}).items()},
            trained_on=data.get("trained_on", {}),
        )

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n", "utf-8")


def fit_model(rows: list[dict[str, float]], labels: list[bool], names: list[str]) -> Model:
    """Standardise, then fit a lightly regularised logistic regression."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    x = np.array([[r.get(n, 0.0) for n in names] for r in rows], dtype=float)
    y = np.array(labels, dtype=int)
    scaler = StandardScaler().fit(x)
    model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000)
    model.fit(scaler.transform(x), y)
    return Model(features=names, mean=scaler.mean_.tolist(),
                 scale=[float(s) for s in scaler.scale_], coef=model.coef_[0].tolist(),
                 intercept=float(model.intercept_[0]))
