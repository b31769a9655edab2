# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CORS preflight that an annotator's browser on V7's origin sends to the Blob service before
it loads (GET) or uploads (PUT) a blob through a signed URL, sent the same way from the controller.

Microsoft's "Preflight Blob Request" reference (learn.microsoft.com/rest/api/storageservices/
preflight-blob-request) and "CORS support for the Azure Storage services": an ``OPTIONS`` request
to ``https://<account>.blob.core.windows.net/<container or blob>``, with no authorization, carrying
``Origin``, ``Access-Control-Request-Method`` and, when the real request will send headers of its
own, ``Access-Control-Request-Headers``. The service evaluates it against the Blob service's CORS
rules (the first rule whose origins and methods match decides): 200 with ``Access-Control-Allow-
Origin``, ``-Methods`` and ``-Headers`` when a rule lets it in, 403 when none does (error code
``CorsPreflightFailure``). The resource need not exist.

What ARM says about the rules is one reading; this is the browser's. An account whose rules look
right over ARM but whose preflight is refused is not ready. A controller that cannot reach the
endpoint at all (a firewall that does not let the controller in, no route, no name) cannot tell,
and says so instead.

The pure functions (``probes``, ``answer``, ``outcome``) decide; ``send`` is the only one that
talks to Azure.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

# What a browser's upload through a SAS sends of its own: Put Blob needs x-ms-blob-type, and the
# file's Content-Type is not one of the CORS-safelisted values for most media.
UPLOAD_HEADERS = ("content-type", "x-ms-blob-type")
REQUEST_HEADERS: Mapping[str, Sequence[str]] = {"PUT": UPLOAD_HEADERS}

# Azure's answers that come from in front of the CORS rules: the account's network settings keep
# this controller out, which says nothing about V7's browsers.
NETWORK_CODES = frozenset({"AuthorizationFailure", "PublicAccessNotPermitted", "AuthorizationSourceIPMismatch"})
# How long a refusal right after the rules were written is asked again, in case the Blob service
# has not applied the new rules yet.
AFTER_WRITE_SECONDS = 30


@dataclass(frozen=True)
class Probe:
    origin: str
    method: str
    headers: tuple[str, ...]

    def request_headers(self) -> dict[str, str]:
        sent = {"Origin": self.origin, "Access-Control-Request-Method": self.method}
        if self.headers:
            sent["Access-Control-Request-Headers"] = ",".join(self.headers)
        return sent


def probes(origins: Iterable[str], methods: Iterable[str]) -> list[Probe]:
    """One preflight per origin and method, with the headers the browser's request would send."""
    return [Probe(origin, method.upper(), tuple(REQUEST_HEADERS.get(method.upper(), ())))
            for origin in origins for method in methods]


def _listed(value: Optional[str]) -> set[str]:
    return {part.strip().lower() for part in (value or "").split(",") if part.strip()}


def answer(probe: Probe, status: int, headers: Mapping[str, str], error_code: Optional[str]) -> dict:
    """One preflight's answer as the browser judges it: allowed when the service says 200 and its
    Access-Control-Allow-* headers name this origin (or ``*``), this method and every header asked."""
    lower = {k.lower(): v for k, v in headers.items()}
    allow_origin = lower.get("access-control-allow-origin")
    allow_methods = _listed(lower.get("access-control-allow-methods"))
    allow_headers = _listed(lower.get("access-control-allow-headers"))
    allowed = (status == 200 and allow_origin in (probe.origin, "*") and probe.method.lower() in allow_methods
               and all(h in allow_headers for h in probe.headers))
    return {
        "origin": probe.origin,
        "method": probe.method,
        "request_headers": list(probe.headers),
        "status": status,
        "error_code": error_code,
        "allowed": allowed,
        "allow_origin": allow_origin,
    }


def unreachable(answers: Sequence[Mapping[str, Any]]) -> Optional[str]:
    """Why the answers say nothing about CORS (the account's network kept the controller out), else None."""
    for found in answers:
        if found["status"] == 403 and found["error_code"] in NETWORK_CODES:
            return (f"the Blob service refused this controller before looking at the CORS rules "
                    f"({found['error_code']}: its network settings do not let this address in)")
    return None


def outcome(endpoint: str, answers: Sequence[Mapping[str, Any]], *, failure: Optional[str] = None) -> dict:
    """The ``cors_preflight`` result: ``checked`` when the Blob service judged every preflight,
    ``refused`` the ones a browser would be refused, ``reason`` why nothing was checked."""
    reason = failure or unreachable(answers)
    refused = [] if reason else [f"{a['method']} from {a['origin']}" for a in answers if not a["allowed"]]
    return {"checked": reason is None, "endpoint": endpoint, "reason": reason, "answers": list(answers),
            "refused": refused}


def not_checked(endpoint: Optional[str], reason: str) -> dict:
    return {"checked": False, "endpoint": endpoint, "reason": reason, "answers": [], "refused": []}


def refused_message(account: str, result: Mapping[str, Any]) -> str:
    details = []
    for found in result["answers"]:
        if not found["allowed"]:
            why = f"{found['status']} {found['error_code']}" if found["error_code"] else f"{found['status']} without " \
                  "Access-Control-Allow-* headers for it"
            details.append(f"{found['method']} from {found['origin']} ({why})")
    return (f"the Blob service of {account} refuses the CORS preflight a browser on V7's web app sends before "
            f"it loads or uploads a blob: {', '.join(details)}; the rules look right over ARM, so look for a rule "
            "of the Blob service's that Azure applies first, or ask again in a minute if they were just changed")


def unreachable_message(account: str, result: Mapping[str, Any]) -> str:
    return (f"could not send V7's CORS preflight to the Blob service of {account} from this controller "
            f"({result['reason']}); CORS was checked over ARM only")


def probe_path(container: Optional[str]) -> str:
    # a blob under the container V7 uses; it need not exist (the preflight is judged by the service)
    return f"/{container}/v7-cors-preflight" if container else "/"


def send(settings, endpoint: str, path: str, wanted: Sequence[Probe], *, after_write: bool = False,
         sleep: Callable[[float], None] = time.sleep) -> dict:
    """Send each preflight to ``endpoint`` and judge the answers (``outcome``). A refusal right
    after a write is asked again for up to AFTER_WRITE_SECONDS."""
    from azure.core.exceptions import AzureError, ServiceRequestError, ServiceResponseError

    url = endpoint.rstrip("/") + path
    client = _client(settings, endpoint)
    deadline = time.monotonic() + (AFTER_WRITE_SECONDS if after_write else 0)
    delay = 2.0
    while True:
        try:
            answers = [_ask(client, url, probe) for probe in wanted]
        except (ServiceRequestError, ServiceResponseError) as err:
            return outcome(endpoint, [], failure=f"could not reach {endpoint}: {_first_line(err)}")
        except AzureError as err:
            return outcome(endpoint, [], failure=f"{endpoint} did not answer: {_first_line(err)}")
        result = outcome(endpoint, answers)
        if not result["refused"] or time.monotonic() + delay > deadline:
            return result
        sleep(delay)
        delay *= 2


def _first_line(err: Exception) -> str:
    text = str(getattr(err, "message", None) or err)
    return text.splitlines()[0] if text else type(err).__name__


def _client(settings, endpoint: str):
    from azure.core import PipelineClient
    from azure.core.pipeline.policies import RetryPolicy, UserAgentPolicy
    from azure.core.pipeline.transport import RequestsTransport

    from ansible_collections.v7labs.azure_storage.plugins.module_utils.clients import USER_AGENT, transport_options

    # A browser sends no credential; an endpoint that cannot be reached is reported, not waited for.
    transport = dict(transport_options(settings), connection_timeout=10)
    return PipelineClient(endpoint, policies=[UserAgentPolicy(user_agent=USER_AGENT),
                                              RetryPolicy(retry_total=2, retry_connect=1, retry_read=1,
                                                          retry_status=2, retry_backoff_max=10)],
                          transport=RequestsTransport(**transport))


def _ask(client, url: str, probe: Probe) -> dict:
    from azure.core.rest import HttpRequest

    response = client.send_request(HttpRequest("OPTIONS", url, headers=probe.request_headers()))
    # azure-core's headers look names up in any case
    return answer(probe, response.status_code, dict(response.headers), response.headers.get("x-ms-error-code"))
