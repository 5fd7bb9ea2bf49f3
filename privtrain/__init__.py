"""privtrain: privacy-preserving training pipeline.

De-identify (Presidio, offline) → encrypt at rest (AES-256-GCM streaming envelopes) → train
under differential privacy (Opacus) or federated (Flower), every run charged to a privacy-budget
ledger, every read gated and audited.
"""

__version__ = "0.1.0"
