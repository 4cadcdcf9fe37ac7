"""ARM error responses: `{"error": {"code", "message", "details"?}}` with the status ARM uses."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ArmError(Exception):
    status: int
    code: str
    message: str
    details: list[dict] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict:
        error: dict = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"error": error}


def missing_api_version() -> ArmError:
    return ArmError(400, "MissingApiVersionParameter",
                    "The api-version query parameter (?api-version=) is required for all requests.")


def invalid_api_version(version: str, supported: tuple[str, ...]) -> ArmError:
    """ARM's answer for its own resource types (subscriptions, resource groups), worded as quoted in
    Azure/azure-cli#28038 and Azure/azure-sdk-for-python#975."""
    return ArmError(400, "InvalidApiVersionParameter",
                    f"The api-version '{version}' is invalid. The supported versions are '{','.join(supported)}'.")


def unsupported_api_version(version: str, resource_type: str, location: str, supported: tuple[str, ...]) -> ArmError:
    return ArmError(400, "NoRegisteredProviderFound",
                    f"No registered resource provider found for location '{location}' and API version "
                    f"'{version}' for type '{resource_type}'. The supported api-versions are "
                    f"'{', '.join(supported)}'. The supported locations are '{location}'.")


def subscription_not_found(subscription: str) -> ArmError:
    return ArmError(404, "SubscriptionNotFound", f"The subscription '{subscription}' could not be found.")


def resource_group_not_found(resource_group: str) -> ArmError:
    return ArmError(404, "ResourceGroupNotFound", f"Resource group '{resource_group}' could not be found.")


def resource_not_found(resource_type: str, name: str, resource_group: str) -> ArmError:
    return ArmError(404, "ResourceNotFound",
                    f"The Resource '{resource_type}/{name}' under resource group '{resource_group}' was not found. "
                    "For more details please go to https://aka.ms/ARMResourceNotFoundFix")


def invalid_resource_type(namespace: str, resource_type: str, version: str) -> ArmError:
    return ArmError(400, "InvalidResourceType",
                    f"The resource type '{resource_type}' could not be found in the namespace '{namespace}' "
                    f"for api version '{version}'.")


def not_onboarded(workspace: str) -> ArmError:
    return ArmError(400, "BadRequest",
                    f"Workspace '{workspace}' is not onboarded to Microsoft Sentinel. Please onboard through the "
                    "portal (https://learn.microsoft.com/en-us/azure/sentinel/quickstart-onboard) or use the "
                    "OnboardingStates ARM api to onboard to Sentinel.")


def bad_request(message: str, code: str = "BadRequest", target: str | None = None) -> ArmError:
    error = ArmError(400, code, message)
    if target:
        error.details = [{"code": code, "target": target, "message": message}]
    return error


def method_not_allowed(method: str, path: str) -> ArmError:
    return ArmError(405, "MethodNotAllowed",
                    f"The requested resource does not support http method '{method}'.")


def authentication_missing() -> ArmError:
    return ArmError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.",
                    headers={"WWW-Authenticate": _www_authenticate(None)})


def authentication_invalid() -> ArmError:
    return ArmError(401, "InvalidAuthenticationToken", "The access token is invalid.",
                    headers={"WWW-Authenticate": _www_authenticate(None)})


def wrong_audience(audience: str, allowed: tuple[str, ...]) -> ArmError:
    return ArmError(401, "InvalidAuthenticationToken",
                    f"The access token has been obtained for wrong audience or resource '{audience}'. It should "
                    f"exactly match with one of the allowed audiences {','.join(repr(a) for a in allowed)}.",
                    headers={"WWW-Authenticate": _www_authenticate(None)})


def token_expired() -> ArmError:
    return ArmError(401, "ExpiredAuthenticationToken",
                    "The access token expiry UTC time is earlier than current UTC time.",
                    headers={"WWW-Authenticate": _www_authenticate(None)})


def wrong_tenant(token_tenant: str, subscription_tenant: str) -> ArmError:
    return ArmError(401, "InvalidAuthenticationTokenTenant",
                    f"The access token is from the wrong issuer 'https://sts.windows.net/{token_tenant}/'. It must "
                    f"match the tenant 'https://sts.windows.net/{subscription_tenant}/' associated with this "
                    f"subscription. Please use the authority (URL) 'https://login.windows.net/{subscription_tenant}' "
                    "to get the token. Note, if the subscription is transferred to another tenant there is no "
                    "impact to the services, but information about new tenant could take time to propagate (up to "
                    "an hour). If you just transferred your subscription and see this error message, please try "
                    "back later.",
                    headers={"WWW-Authenticate": _www_authenticate(subscription_tenant)})


def _www_authenticate(tenant: str | None) -> str:
    authority = f"https://login.windows.net/{tenant}" if tenant else "https://login.windows.net/"
    return (f'Bearer authorization_uri="{authority}", error="invalid_token", '
            f'error_description="The access token is invalid."')


def automation_rules_throttled(scope: str, retry_after: int) -> ArmError:
    """Sentinel's automation-rule write limit (INFERRED wording and numbers: docs/emulator.md)."""
    return ArmError(429, "TooManyRequests",
                    f"Number of automation rule write requests for {scope} exceeded the limit of 100 per 5 minutes. "
                    f"Please try again after {retry_after} seconds.", headers={"Retry-After": str(retry_after)})


def throttled(operation: str, scope: str, retry_after: int) -> ArmError:
    return ArmError(429, "TooManyRequests",
                    f"Number of '{operation}' requests for {scope} exceeded. Please try again after "
                    f"'{retry_after}' seconds after additional tokens are available. Refer to "
                    "https://aka.ms/arm-throttling",
                    headers={"Retry-After": str(retry_after)})


def injected(status: int, retry_after: int | None = None) -> ArmError:
    codes = {500: "InternalServerError", 502: "BadGateway", 503: "ServiceUnavailable", 504: "GatewayTimeout",
             429: "TooManyRequests", 409: "Conflict", 408: "RequestTimeout"}
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    return ArmError(status, codes.get(status, "InjectedFault"),
                    f"The service returned {status} (a fault injected by the emulator).", headers=headers)
