"""privtrain: privacy-preserving training pipeline.

De-identify (Presidio, offline) → encrypt at rest (AES-256-GCM streaming envelopes) → train
under differential privacy (Opacus) or federated (Flower), every run charged to a privacy-budget
ledger, every read gated and audited.
"""

__version__ = "0.1.0"


def __getattr__(name: str):  # noqa: ANN202 - lazy: `import privtrain` stays cheap
    if name == "Pipeline":
        from privtrain.pipeline import Pipeline

        return Pipeline
    raise AttributeError(f"module 'privtrain' has no attribute {name!r}")
