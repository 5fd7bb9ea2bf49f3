"""Federated training on Flower: ServerApp (server_app), ClientApp (client_app), site policy,
ledger and local DP steps (site), CKKS aggregation (he), the local Deployment Engine (local)."""
