"""Access layer: authorization (Cedar), identities and tokens, and the tamper-evident audit log.

Stable Python API (used by the CLI, the registry service and the federated client)::

    from privtrain import access

    # One authorizer for every read path. Deny by default; every decision is audited with the
    # @id of the deciding policies. Raises AccessDenied (exit code 7) on deny.
    dec = access.authorize(ws, "alice", "dataset.read", "dataset:adult@v2")
    dec = access.authorize(ws, None, "model.export", "model:m")   # None: current principal
    access.check(ws, "alice", "dataset.export", "dataset:adult")  # explain; never raises

    # Library read paths (datasets.read_bytes/export, models.export) authorize the *current*
    # principal: the home's identity (the custodian) unless inside ``acting_as``:
    with access.acting_as("federated-client", via="federated"):
        info, data = datasets.read_bytes(ws, "site-a-data")

    # Service principals (created on first use) and users:
    access.ensure_service_principal(ws, "federated-client", site="site-a")
    access.add_principal(ws, "alice", roles=["data-scientist"], site="site-a")
    issued = access.issue_token(ws, "alice", ttl=timedelta(days=7))  # issued.token shown once
    principal, token = access.authenticate(ws, bearer)  # AuthenticationError (401) otherwise

Actions: dataset.show|read|export|shred, model.show|export, keys.rotate, budget.set.
Resources: ``dataset:NAME[@vN]``, ``model:NAME[@vN]``, ``keyring``, ``budget:NAME``.
Roles: data-scientist, privacy-officer, admin, ingestion, trainer, federated-client.
Policies: ``access.cedar`` + ``access.cedarschema`` from ``$PRIVTRAIN_POLICY_DIR``, else
``<home>/policies/``, else the shipped ``policies/``; validated on load (ConfigError, exit 10).
"""

from privtrain.access._authorizer import (
    ACTIONS,
    Authorizer,
    Decision,
    acting_as,
    authorize,
    authorizer_for,
    check,
    current_principal,
    load_policies,
    policy_dir,
)
from privtrain.access._identities import (
    DEFAULT_SCOPE,
    ROLES,
    SCOPES,
    AuthenticationError,
    IssuedToken,
    PrincipalInfo,
    TokenInfo,
    add_principal,
    authenticate,
    ensure_service_principal,
    get_principal,
    issue_token,
    list_principals,
    list_tokens,
    revoke_token,
    scope_allows,
    set_status,
)
from privtrain.access.auditlog import AuditLog, AuditVerifyReport

__all__ = [
    "ACTIONS",
    "DEFAULT_SCOPE",
    "ROLES",
    "SCOPES",
    "AuditLog",
    "AuditVerifyReport",
    "AuthenticationError",
    "Authorizer",
    "Decision",
    "IssuedToken",
    "PrincipalInfo",
    "TokenInfo",
    "acting_as",
    "add_principal",
    "authenticate",
    "authorize",
    "authorizer_for",
    "check",
    "current_principal",
    "ensure_service_principal",
    "get_principal",
    "issue_token",
    "list_principals",
    "list_tokens",
    "load_policies",
    "policy_dir",
    "revoke_token",
    "scope_allows",
    "set_status",
]
