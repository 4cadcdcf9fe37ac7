"""Functions that exist in a Sentinel workspace but not in plain Kusto, declared for the binder.

- `_GetWatchlist(alias)`: the watchlist's items (fixed columns + the watchlist's own columns).
- ASIM parsers (`_Im_<Schema>`, `im<Schema>`, `_ASim_<Schema>`, `ASim<Schema>`): their filtering
  parameters and the schema's common columns, from Microsoft's ASIM schema reference
  (learn.microsoft.com/azure/sentinel/normalization-schema-*). The result tables are open:
  vendor parsers add columns, so only the declared ones are type-checked.
- `workspace()`, `app()`, `resource()`: cross-resource queries read the same tables here.
- The content's own parsers: declared from their FunctionAlias, FunctionParams and query.
"""
from __future__ import annotations

from dataclasses import dataclass

from packer.content.model import Parser


@dataclass(frozen=True)
class FunctionSpec:
    """A function for the worker: `body` (KQL) or a result table `columns` (name:type list)."""

    name: str
    parameters: str = "()"  # Kusto parameter list, with parentheses
    body: str | None = None
    columns: tuple[tuple[str, str], ...] = ()
    open: bool = True
    returns_database: bool = False

    def to_worker(self) -> dict:
        spec: dict = {"name": self.name, "parameters": self.parameters}
        if self.returns_database:
            spec["returns"] = "database"
        elif self.body is not None:
            spec["body"] = self.body
        else:
            spec["columns"] = [list(c) for c in self.columns]
            spec["open"] = self.open
        return spec


def _cols(text: str) -> tuple[tuple[str, str], ...]:
    """'A:string, B:int' -> (('A', 'string'), ('B', 'int')); untyped names are strings."""
    out = []
    for item in text.replace("\n", " ").split(","):
        item = item.strip()
        if item:
            name, _, kind = item.partition(":")
            out.append((name.strip(), kind.strip() or "string"))
    return tuple(out)


_TIME = "starttime:datetime=datetime(null), endtime:datetime=datetime(null)"
_LIST = "dynamic=dynamic([])"

COMMON = """TimeGenerated:datetime, _ResourceId, _SubscriptionId, Type, EventMessage, EventCount:int,
EventStartTime:datetime, EventEndTime:datetime, EventType, EventSubType, EventResult, EventResultDetails,
EventOriginalUid, EventOriginalType, EventOriginalSubType, EventOriginalResultDetails, EventSeverity,
EventOriginalSeverity, EventProduct, EventProductVersion, EventVendor, EventSchema, EventSchemaVersion,
EventReportUrl, EventOwner, Dvc, DvcIpAddr, DvcHostname, DvcDomain, DvcDomainType, DvcFQDN, DvcDescription,
DvcId, DvcIdType, DvcMacAddr, DvcZone, DvcOs, DvcOsVersion, DvcAction, DvcOriginalAction, DvcInterface,
DvcScopeId, DvcScope, AdditionalFields:dynamic, ASimMatchingIpAddr, ASimMatchingHostname, ASimMatchingUsername"""

_USER = """{p}UserId, {p}UserIdType, {p}Username, {p}UsernameType, {p}UserType, {p}OriginalUserType,
{p}UserSessionId, {p}UserScope, {p}UserScopeId"""

NETWORK = """Src, Dst, IpAddr, Hostname, User, SrcIpAddr, DstIpAddr, SrcPortNumber:int, DstPortNumber:int,
SrcHostname, DstHostname, SrcDomain, DstDomain, SrcDomainType, DstDomainType, SrcFQDN, DstFQDN, SrcDvcId,
DstDvcId, SrcDeviceType, DstDeviceType, SrcZone, DstZone, SrcInterfaceName, DstInterfaceName, SrcMacAddr,
DstMacAddr, SrcVlanId, DstVlanId, SrcGeoCountry, DstGeoCountry, SrcGeoRegion, DstGeoRegion, SrcGeoCity,
DstGeoCity, SrcGeoLatitude:real, DstGeoLatitude:real, SrcGeoLongitude:real, DstGeoLongitude:real,
SrcAppName, DstAppName, SrcAppId, DstAppId, SrcAppType, DstAppType, SrcNatIpAddr, DstNatIpAddr,
SrcNatPortNumber:int, DstNatPortNumber:int, NetworkApplicationProtocol, NetworkProtocol,
NetworkProtocolVersion, NetworkDirection, NetworkDuration:int, NetworkIcmpCode:int, NetworkIcmpType,
NetworkBytes:long, SrcBytes:long, DstBytes:long, NetworkPackets:long, SrcPackets:long, DstPackets:long,
NetworkSessionId, NetworkConnectionHistory, NetworkRuleName, NetworkRuleNumber:int, TcpFlagsAck:bool,
TcpFlagsFin:bool, TcpFlagsSyn:bool, TcpFlagsUrg:bool, TcpFlagsPsh:bool, TcpFlagsRst:bool, ThreatId,
ThreatName, ThreatCategory, ThreatRiskLevel:int, ThreatOriginalRiskLevel, ThreatIpAddr, ThreatField,
ThreatConfidence:int, ThreatIsActive:bool, ThreatFirstReportedTime:datetime,
ThreatLastReportedTime:datetime, InnerVlanId, OuterVlanId, Rule, Duration:int, SessionId"""

DNS = """Src, Dst, IpAddr, Hostname, Domain, SrcIpAddr, SrcPortNumber:int, DstIpAddr, DstPortNumber:int,
SrcHostname, DstHostname, SrcDomain, DstDomain, SrcFQDN, DstFQDN, SrcDvcId, DstDvcId, SrcGeoCountry,
DstGeoCountry, SrcProcessName, SrcProcessId, DnsQuery, DnsQueryType:int, DnsQueryTypeName,
DnsResponseCode:int, DnsResponseCodeName, DnsResponseName, DnsNetworkDuration:int, DnsFlags,
DnsFlagsAuthenticated:bool, DnsFlagsAuthoritative:bool, DnsFlagsCheckingDisabled:bool,
DnsFlagsRecursionAvailable:bool, DnsFlagsRecursionDesired:bool, DnsFlagsTruncated:bool, DnsFlagsZ:bool,
DnsQueryClass:int, DnsQueryClassName, DnsSessionId, DnsFlagsTruncates:bool, NetworkProtocol,
NetworkProtocolVersion, TransactionIdHex, UrlCategory, ThreatId, ThreatName, ThreatCategory,
ThreatRiskLevel:int, ThreatField, ThreatIpAddr, DvcAction, ResponseName, ResponseCodeName, Duration:int,
Process, User, SessionId"""

WEB = NETWORK + """, Url, UrlCategory, UrlOriginal, HttpVersion, HttpRequestMethod, HttpStatusCode,
HttpContentType, HttpContentFormat, HttpReferrer, HttpUserAgent, HttpRequestXff, HttpRequestTime:int,
HttpResponseTime:int, HttpHost, FileName, FileMD5, FileSHA1, FileSHA256, FileSHA512, FileSize:long,
FileContentType, UserAgent, Hash, HashType"""

AUTH = """Src, Dst, IpAddr, Hostname, User, LogonMethod, LogonProtocol, LogonTarget, TargetAppId,
TargetAppName, TargetAppType, TargetUrl, SrcIpAddr, SrcPortNumber:int, SrcHostname, SrcDomain,
SrcDomainType, SrcFQDN, SrcDvcId, SrcDvcIdType, SrcDeviceType, SrcDvcOs, SrcIsp, SrcGeoCountry,
SrcGeoRegion, SrcGeoCity, SrcGeoLatitude:real, SrcGeoLongitude:real, SrcRiskLevel:int, SrcOriginalRiskLevel,
TargetIpAddr, TargetPortNumber:int, TargetHostname, TargetDomain, TargetDomainType, TargetFQDN,
TargetDvcId, TargetDvcIdType, TargetDeviceType, TargetDvcOs, TargetGeoCountry, TargetGeoRegion,
TargetGeoCity, TargetSessionId, ActingAppId, ActingAppName, ActingAppType, HttpUserAgent, RuleName,
RuleNumber:int, Rule, ThreatId, ThreatName, ThreatCategory, ThreatRiskLevel:int, ThreatField,
ThreatIpAddr, ThreatIsActive:bool, LogonId, Application""" + ", " + _USER.format(p="Actor") + ", " + _USER.format(p="Target")

PROCESS = """User, Process, CommandLine, Hash, HashType, Dvc, ActingProcessName, ActingProcessId,
ActingProcessGuid, ActingProcessCommandLine, ActingProcessCreationTime:datetime,
ActingProcessIntegrityLevel, ActingProcessMD5, ActingProcessSHA1, ActingProcessSHA256, ActingProcessSHA512,
ActingProcessIMPHASH, ActingProcessFileCompany, ActingProcessFileDescription, ActingProcessFileProduct,
ActingProcessFileVersion, ActingProcessFileInternalName, ActingProcessFileOriginalName,
ActingProcessFileSize:long, ActingProcessInjectedAddress, ActingProcessIsHidden:bool,
ActingProcessTokenElevation, ParentProcessName, ParentProcessId, ParentProcessGuid,
ParentProcessCommandLine, ParentProcessCreationTime:datetime, ParentProcessIntegrityLevel,
ParentProcessMD5, ParentProcessSHA1, ParentProcessSHA256, ParentProcessSHA512, ParentProcessIMPHASH,
ParentProcessFileCompany, ParentProcessFileDescription, ParentProcessFileProduct, ParentProcessFileVersion,
ParentProcessTokenElevation, TargetProcessName, TargetProcessId, TargetProcessGuid,
TargetProcessCommandLine, TargetProcessCurrentDirectory, TargetProcessCreationTime:datetime,
TargetProcessIntegrityLevel, TargetProcessMD5, TargetProcessSHA1, TargetProcessSHA256, TargetProcessSHA512,
TargetProcessIMPHASH, TargetProcessFileCompany, TargetProcessFileDescription, TargetProcessFileProduct,
TargetProcessFileVersion, TargetProcessFileInternalName, TargetProcessFileOriginalName,
TargetProcessFileSize:long, TargetProcessIsHidden:bool, TargetProcessInjectedAddress,
TargetProcessTokenElevation, TargetProcessStatusCode, ActingProcessUsername, ParentProcessUsername,
DvcOs, DvcOsVersion""" + ", " + _USER.format(p="Actor") + ", " + _USER.format(p="Target")

FILE = """User, FileName, FilePath, Process, Hash, HashType, Dvc, SrcIpAddr, SrcPortNumber:int, SrcHostname,
SrcDomain, SrcFQDN, SrcFileName, SrcFilePath, SrcFilePathType, SrcFileCreationTime:datetime,
SrcFileMimeType, SrcFileSize:long, SrcFileMD5, SrcFileSHA1, SrcFileSHA256, SrcFileSHA512,
TargetFileName, TargetFilePath, TargetFilePathType, TargetFileCreationTime:datetime,
TargetFileExtension, TargetFileMimeType, TargetFileSize:long, TargetFileMD5, TargetFileSHA1,
TargetFileSHA256, TargetFileSHA512, TargetFileIMPHASH, TargetUrl, TargetAppId, TargetAppName,
TargetAppType, ActingProcessName, ActingProcessId, ActingProcessCommandLine, ActingProcessGuid,
HttpUserAgent, NetworkApplicationProtocol, ThreatId, ThreatName, ThreatCategory, ThreatRiskLevel:int,
ThreatField, ActorUserId, ActorUserIdType, ActorUsername, ActorUsernameType, ActorUserType,
ActorSessionId, ActorScope"""

REGISTRY = """User, Process, Dvc, RegistryKey, RegistryValue, RegistryValueType, RegistryValueData,
RegistryPreviousKey, RegistryPreviousValue, RegistryPreviousValueType, RegistryPreviousValueData,
ActingProcessName, ActingProcessId, ActingProcessGuid, ParentProcessName, ParentProcessId,
ParentProcessGuid, ActorUserId, ActorUserIdType, ActorUsername, ActorUsernameType, ActorUserType,
ActorSessionId, ActorScope"""

AUDIT = """User, Application, Dvc, Src, Operation, Object, ObjectId, ObjectType, OriginalObjectType,
OldValue, NewValue, Value, ValueType, SrcIpAddr, SrcPortNumber:int, SrcHostname, SrcDomain, SrcFQDN,
SrcGeoCountry, SrcGeoRegion, SrcGeoCity, TargetIpAddr, TargetPortNumber:int, TargetHostname,
TargetDomain, TargetFQDN, TargetAppId, TargetAppName, TargetAppType, TargetUrl, TargetOriginalAppType,
ActingAppId, ActingAppName, ActingAppType, ActingOriginalAppType, HttpUserAgent, IpAddr, Rule,
RuleName, RuleNumber:int, ThreatId, ThreatName, ThreatCategory, ThreatRiskLevel:int, ThreatField,
ThreatIpAddr""" + ", " + _USER.format(p="Actor")

USERMGMT = AUDIT + """, TargetUserId, TargetUserIdType, TargetUsername, TargetUsernameType,
TargetUserType, GroupId, GroupIdType, GroupName, GroupNameType, GroupType, UpdatedPropertyName,
PreviousPropertyValue, NewPropertyValue"""

# imProcessCreate and imProcessEvent take the same filtering parameters.
_PROCESS_FILTERS = (
    f"{_TIME}, commandline_has_any:{_LIST}, commandline_has_all:{_LIST}, "
    f"commandline_has_any_ip_prefix:{_LIST}, actingprocess_has_any:{_LIST}, "
    f"targetprocess_has_any:{_LIST}, parentprocess_has_any:{_LIST}, targetusername_has:string='*', "
    f"dvcipaddr_has_any_prefix:{_LIST}, dvchostname_has_any:{_LIST}, eventtype:string='*', "
    f"hashes_has_any:{_LIST}, pack:bool=false")

# schema -> (filtering parameters, result columns); parameter names from the ASIM parser docs
ASIM: dict[str, tuple[str, str]] = {
    "NetworkSession": (
        f"{_TIME}, srcipaddr_has_any_prefix:{_LIST}, dstipaddr_has_any_prefix:{_LIST}, "
        f"ipaddr_has_any_prefix:{_LIST}, dstportnumber:int=int(null), hostname_has_any:{_LIST}, "
        f"dvcaction:{_LIST}, eventresult:string='*', pack:bool=false", NETWORK),
    "Dns": (
        f"{_TIME}, srcipaddr:string='*', domain_has_any:{_LIST}, responsecodename:string='*', "
        f"response_has_ipv4:string='*', response_has_any_prefix:{_LIST}, eventtype:string='Query', "
        f"pack:bool=false", DNS),
    "WebSession": (
        f"{_TIME}, srcipaddr_has_any_prefix:{_LIST}, ipaddr_has_any_prefix:{_LIST}, url_has_any:{_LIST}, "
        f"httpuseragent_has_any:{_LIST}, eventresultdetails_in:{_LIST}, eventresult:string='*', "
        f"pack:bool=false", WEB),
    "Authentication": (
        f"{_TIME}, username_has_any:{_LIST}, targetappname_has_any:{_LIST}, "
        f"srcipaddr_has_any_prefix:{_LIST}, srchostname_has_any:{_LIST}, eventtype_in:{_LIST}, "
        f"eventresultdetails_in:{_LIST}, eventresult:string='*', pack:bool=false", AUTH),
    "ProcessCreate": (_PROCESS_FILTERS, PROCESS),
    "ProcessTerminate": (
        f"{_TIME}, commandline_has_any:{_LIST}, actingprocess_has_any:{_LIST}, "
        f"targetprocess_has_any:{_LIST}, dvchostname_has_any:{_LIST}, pack:bool=false", PROCESS),
    "ProcessEvent": (_PROCESS_FILTERS, PROCESS),
    "FileEvent": (
        f"{_TIME}, eventtype_in:{_LIST}, srcipaddr_has_any_prefix:{_LIST}, actorusername_has_any:{_LIST}, "
        f"targetfilepath_has_any:{_LIST}, srcfilepath_has_any:{_LIST}, hashes_has_any:{_LIST}, "
        f"dvchostname_has_any:{_LIST}, pack:bool=false", FILE),
    "RegistryEvent": (
        f"{_TIME}, eventtype_in:{_LIST}, actorusername_has_any:{_LIST}, registrykey_has_any:{_LIST}, "
        f"registryvaluedata_has_any:{_LIST}, dvchostname_has_any:{_LIST}, pack:bool=false", REGISTRY),
    "AuditEvent": (
        f"{_TIME}, srcipaddr_has_any_prefix:{_LIST}, eventtype_in:{_LIST}, eventresult:string='*', "
        f"actorusername_has_any:{_LIST}, operation_has_any:{_LIST}, object_has_any:{_LIST}, "
        f"newvalue_has_any:{_LIST}, pack:bool=false", AUDIT),
    "UserManagement": (
        f"{_TIME}, srcipaddr_has_any_prefix:{_LIST}, actorusername_has_any:{_LIST}, "
        f"targetusername_has_any:{_LIST}, eventtype_in:{_LIST}, pack:bool=false", USERMGMT),
}

# Older names still used by content (imProcess is the pre-split process schema).
ALIASES = {"Process": "ProcessEvent", "Registry": "RegistryEvent"}

# ASIM-normalised tables that ingestion fills directly (schema -> table name).
ASIM_TABLES = {
    "NetworkSession": "ASimNetworkSessionLogs", "Dns": "ASimDnsActivityLogs",
    "WebSession": "ASimWebSessionLogs", "Authentication": "ASimAuthenticationEventLogs",
    "ProcessEvent": "ASimProcessEventLogs", "FileEvent": "ASimFileEventLogs",
    "RegistryEvent": "ASimRegistryEventLogs", "AuditEvent": "ASimAuditEventLogs",
    "UserManagement": "ASimUserManagementActivityLogs",
}

WATCHLIST_COLUMNS = "_DTItemId, LastUpdatedTimeUTC:datetime, SearchKey, WatchlistItem:dynamic, _DTTimestamp:datetime"


def asim_functions() -> list[FunctionSpec]:
    specs = []
    schemas = dict(ASIM)
    schemas.update({alias: ASIM[target] for alias, target in ALIASES.items()})
    for schema, (params, columns) in schemas.items():
        cols = _cols(COMMON + ", " + columns)
        for name in (f"_Im_{schema}", f"im{schema}"):
            specs.append(FunctionSpec(name, f"({params})", columns=cols))
        for name in (f"_ASim_{schema}", f"ASim{schema}"):
            specs.append(FunctionSpec(name, "()", columns=cols))
    return specs


def asim_tables() -> dict[str, tuple[tuple[str, str], ...]]:
    """Tables holding ASIM-normalised data, with their schema's columns (open tables)."""
    return {table: _cols(COMMON + ", " + ASIM[schema][1]) for schema, table in ASIM_TABLES.items()}


def sentinel_functions() -> list[FunctionSpec]:
    """Every workspace function a Sentinel query may call that plain Kusto does not know."""
    watchlist = _cols(WATCHLIST_COLUMNS)
    return [
        FunctionSpec("_GetWatchlist", f"(watchlistAlias:string, keys:{_LIST})", columns=watchlist),
        FunctionSpec("_GetWatchlistAlias", "()", columns=(("WatchlistAlias", "string"),), open=False),
        FunctionSpec("workspace", "(name:string)", returns_database=True),
        FunctionSpec("app", "(name:string)", returns_database=True),
        FunctionSpec("resource", "(name:string)", returns_database=True),
        *asim_functions(),
    ]


def parser_function(parser: Parser) -> FunctionSpec:
    """A content parser as the workspace will hold it: callable by its FunctionAlias."""
    params = (parser.function_parameters or "").strip()
    if params and not params.startswith("("):
        params = f"({params})"
    return FunctionSpec(parser.function_alias, params or "()", body="{\n" + parser.query + "\n}")
