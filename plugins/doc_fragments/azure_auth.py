# Copyright: V7 platform integrations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  subscription_id:
    description:
      - The Azure subscription to work in.
      - Falls back to E(AZURE_SUBSCRIPTION_ID).
      - Modules that only call Microsoft Graph do not need it.
    type: str
  tenant:
    description:
      - The Microsoft Entra tenant (directory) ID to sign in to.
      - Falls back to E(AZURE_TENANT) (set by AWX / Automation Controller), then E(AZURE_TENANT_ID).
      - Required to sign in with a secret, a certificate or a federated token. With Azure CLI or a
        managed identity the tenant is read from the token when not given.
    type: str
  client_id:
    description:
      - The application (client) ID of the service principal to sign in as; with a user-assigned
        managed identity, that identity's client ID.
      - Falls back to E(AZURE_CLIENT_ID).
    type: str
  secret:
    description:
      - The client secret of O(client_id).
      - Falls back to E(AZURE_SECRET) (set by AWX / Automation Controller), then E(AZURE_CLIENT_SECRET).
      - Never shown in output or error messages.
    type: str
  client_certificate_path:
    description:
      - Path to a PEM or PKCS12 certificate with its private key, to sign in as O(client_id) with a
        certificate instead of a secret.
      - Falls back to E(AZURE_CLIENT_CERTIFICATE_PATH).
    type: path
  client_certificate_password:
    description:
      - Password of O(client_certificate_path), if it has one.
      - Falls back to E(AZURE_CLIENT_CERTIFICATE_PASSWORD).
    type: str
  federated_token_file:
    description:
      - Path to a federated token (workload identity, for example in Kubernetes) exchanged for an
        Entra token of O(client_id).
      - Falls back to E(AZURE_FEDERATED_TOKEN_FILE).
    type: path
  ad_user:
    description:
      - User name to sign in with a user account and O(password). Does not work with multi-factor
        authentication; the module warns when it is used.
      - Falls back to E(AZURE_AD_USER) (set by AWX / Automation Controller), then E(AZURE_USERNAME).
    type: str
  password:
    description:
      - Password of O(ad_user).
      - Falls back to E(AZURE_PASSWORD).
    type: str
  cloud_environment:
    description:
      - The Azure cloud. One of V(AzureCloud), V(AzureChinaCloud), V(AzureUSGovernment) (case does
        not matter), or the https URL of an ARM cloud metadata endpoint, for example
        V(https://management.azure.com/metadata/endpoints?api-version=2022-09-01) or an Azure Stack
        Hub's C(https://management.<region>.<fqdn>/metadata/endpoints). The query is optional;
        C(api-version=2022-09-01) is added when missing.
      - From a metadata URL the module takes the ARM endpoint, the sign-in host, the ARM token
        audience and the Microsoft Graph endpoint (C(microsoftGraphResourceId)).
      - Falls back to E(AZURE_CLOUD_ENVIRONMENT); defaults to V(AzureCloud).
    type: str
  auth_source:
    description:
      - How to sign in.
      - V(auto) uses, in this order, the first that is set (as options or environment variables)
        a secret, a certificate, O(ad_user) and O(password), a federated token file; otherwise
        Azure CLI's login, then a managed identity.
      - V(env) uses only a secret, a certificate, or O(ad_user) and O(password), and fails if none is set.
      - V(cli) uses the Azure CLI's login (C(az login)).
      - V(msi) uses the managed identity of the Azure host (user-assigned when O(client_id) is set).
      - V(workload_identity) exchanges O(federated_token_file) for a token of O(client_id).
      - Falls back to E(AZURE_AUTH_SOURCE); defaults to V(auto).
    type: str
    choices: [auto, env, cli, msi, workload_identity]
  ca_bundle:
    description:
      - Path to a PEM file of CA certificates to trust for every request (sign-in, ARM, Graph and
        the cloud metadata endpoint), for example when a TLS-inspecting proxy or a private cloud
        uses its own CA.
      - Falls back to E(REQUESTS_CA_BUNDLE), then E(SSL_CERT_FILE).
    type: path
  validate_certs:
    description:
      - Whether to verify TLS certificates. Leave it on; use O(ca_bundle) to trust another CA.
      - When V(false), the module warns on every run that TLS verification is off.
    type: bool
    default: true
  api_retries:
    description:
      - How many times a request is retried on throttling (429, honouring C(Retry-After)),
        server errors and connection errors.
    type: int
    default: 6
  api_retry_backoff_max:
    description:
      - Longest wait in seconds between two retries.
    type: int
    default: 60
  api_timeout:
    description:
      - Read timeout in seconds of each request. Defaults to the Azure SDK's (300 seconds).
    type: int
  option_names:
    description:
      - "How the module's failure and warning messages name its options, for a role or playbook
        whose users set other variables; for example C({storage_account: v7_storage_account}).
        Each key is replaced wherever it stands as a whole word; a longer key wins over a shorter one."
      - Options not listed keep their own names.
    type: dict
    default: {}
requirements:
  - python >= 3.10
  - azure-identity >= 1.15.0 (with azure-core)
notes:
  - "AWX / Automation Controller: a C(Microsoft Azure Resource Manager) credential sets
    E(AZURE_SUBSCRIPTION_ID), E(AZURE_CLIENT_ID), E(AZURE_SECRET), E(AZURE_TENANT) (or
    E(AZURE_AD_USER) and E(AZURE_PASSWORD)) and E(AZURE_CLOUD_ENVIRONMENT), which these modules read."
  - "Precedence: an option set in the task, then the AWX / Automation Controller variable, then the
    azure-identity variable."
  - Use C(module_defaults) with C(group/v7labs.azure_storage.azure) to set these options once.
"""
