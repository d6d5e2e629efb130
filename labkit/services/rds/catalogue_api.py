"""The calls AWS's SDK examples make first, answered from :mod:`.catalogue`.

``before`` subscribers of the hook dispatcher answer these learner calls
(labkit's own calls still reach moto):

- ``DescribeDBEngineVersions`` (moto: NotImplementedError): the sample of
  versions, filtered by ``Engine``, ``EngineVersion`` (a whole version or a
  major version such as ``"16"``), ``DBParameterGroupFamily``, ``DefaultOnly``
  and ``Filters`` (``engine``, ``engine-version``, ``db-parameter-group-family``,
  ``status``), paginated with ``MaxRecords``/``Marker``;
- ``DescribeOrderableDBInstanceOptions`` for the four engines (moto: only
  aurora-postgresql, and none for a recent version);
- ``DescribeDBParameterGroups`` with a name moto does not know: AWS's
  ``DBParameterGroupNotFound`` (moto: an empty list), except for the
  ``default.<family>`` groups AWS keeps for every family;
- ``DescribeDBParameters`` / ``DescribeDBClusterParameters``: the family's
  engine parameters, with the values the learner set (``Source="user"``), and
  the ``Source`` filter; ``ModifyDBParameterGroup`` /
  ``ModifyDBClusterParameterGroup`` refuse what AWS refuses for a parameter the
  sample knows (not modifiable, ``immediate`` on a static parameter, a value
  outside its range), then moto stores the values.

An engine AWS offers but the sample leaves out (mariadb, Oracle, SQL Server,
Db2) raises :class:`NotEmulated`, which says so; an unknown name gets AWS's
``InvalidParameterValue``.
"""

from __future__ import annotations

from typing import Any

from labkit.core import errors, hooks
from labkit.core.aws import internal_client
from labkit.services.rds import catalogue as cat

Answer = tuple[int, dict[str, Any]]


class NotEmulated(errors.NotEmulated):
    """A real AWS feature that labkit's RDS emulation does not offer."""


def _ok(body: dict[str, Any]) -> Answer:
    return 200, {**body, "ResponseMetadata": {"HTTPStatusCode": 200}}


def _page(items: list[Any], params: dict[str, Any], key: str) -> Answer:
    size = int(params.get("MaxRecords") or 100)
    if not 20 <= size <= 100:
        return hooks.error_answer("InvalidParameterValue", "MaxRecords must be between 20 and 100.")
    start = int(params.get("Marker") or 0) if str(params.get("Marker") or "0").isdigit() else 0
    body: dict[str, Any] = {key: items[start:start + size]}
    if start + size < len(items):
        body["Marker"] = str(start + size)
    return _ok(body)


def _filters(params: dict[str, Any]) -> dict[str, list[str]]:
    return {f["Name"]: list(f.get("Values", [])) for f in params.get("Filters") or []}


def _check_engine(engine: str | None) -> Answer | None:
    if engine is None or engine in cat.ENGINES:
        return None
    if engine in cat.OTHER_AWS_ENGINES:
        raise NotEmulated(
            f"labkit's RDS emulation offers the engines {', '.join(cat.ENGINES)}; {engine!r} is a real AWS engine "
            "that it does not emulate. Use one of those engines in the sandbox.")
    return hooks.error_answer("InvalidParameterValue", f"Unrecognized engine name: {engine}")


def _version_matches(version: str, wanted: str) -> bool:
    return version == wanted or version.startswith(wanted + ".")


# ---------------------------------------------------------------- engine versions


def _engine_version(v: cat.EngineVersion) -> dict[str, Any]:
    aurora = v.engine.startswith("aurora")
    logs = ["postgresql", "upgrade"] if "postgres" in v.engine else ["audit", "error", "general", "slowquery"]
    return {
        "Engine": v.engine,
        "EngineVersion": v.version,
        "DBParameterGroupFamily": v.family,
        "DBEngineDescription": cat.engine_description(v.engine),
        "DBEngineVersionDescription": cat.version_description(v),
        "MajorEngineVersion": v.major,
        "Status": "available",
        "ValidUpgradeTarget": [
            {"Engine": t.engine, "EngineVersion": t.version, "Description": cat.version_description(t),
             "AutoUpgrade": False, "IsMajorVersionUpgrade": t.major != v.major}
            for t in cat.upgrade_targets(v)
        ],
        "ExportableLogTypes": logs,
        "SupportsLogExportsToCloudwatchLogs": True,
        "SupportsReadReplica": True,
        "SupportedEngineModes": ["provisioned"],
        "SupportsParallelQuery": False,
        "SupportsGlobalDatabases": aurora,
    }


def describe_engine_versions(call: hooks.Call) -> Answer:
    p = call.params
    f = _filters(p)
    engine = p.get("Engine")
    refused = _check_engine(engine)
    for name in f.get("engine", []):
        refused = refused or _check_engine(name)
    if refused:
        return refused
    found = []
    for v in cat.VERSIONS:
        if engine and v.engine != engine:
            continue
        if p.get("EngineVersion") and not _version_matches(v.version, p["EngineVersion"]):
            continue
        if p.get("DBParameterGroupFamily") and v.family != p["DBParameterGroupFamily"]:
            continue
        if p.get("DefaultOnly") and not v.default:
            continue
        if "engine" in f and v.engine not in f["engine"]:
            continue
        if "engine-version" in f and not any(_version_matches(v.version, x) for x in f["engine-version"]):
            continue
        if "db-parameter-group-family" in f and v.family not in f["db-parameter-group-family"]:
            continue
        if "status" in f and "available" not in f["status"]:
            continue
        found.append(_engine_version(v))
    return _page(found, p, "DBEngineVersions")


# ---------------------------------------------------------------- orderable instance options


def describe_orderable(call: hooks.Call) -> Answer | None:
    p = call.params
    engine = p.get("Engine")
    refused = _check_engine(engine)
    if refused:
        return refused
    versions = [v for v in cat.VERSIONS if v.engine == engine
                and (not p.get("EngineVersion") or _version_matches(v.version, p["EngineVersion"]))]
    options = []
    for v in versions:
        for cls in cat.instance_classes(engine):
            if p.get("DBInstanceClass") and cls != p["DBInstanceClass"]:
                continue
            options.append({
                "Engine": v.engine, "EngineVersion": v.version, "DBInstanceClass": cls,
                "LicenseModel": "postgresql-license" if "postgres" in engine else "general-public-license",
                "AvailabilityZones": [{"Name": f"{call.region}{z}"} for z in "abc"],
                "MultiAZCapable": not engine.startswith("aurora"), "ReadReplicaCapable": True, "Vpc": True,
                "SupportsStorageEncryption": True, "StorageType": "aurora" if engine.startswith("aurora") else "gp3",
                "SupportedEngineModes": ["provisioned"],
            })
    return _page(options, p, "OrderableDBInstanceOptions")


# ---------------------------------------------------------------- parameter groups


def _client(call: hooks.Call) -> Any:
    return internal_client("rds", call.region)


def _default_group(name: str, cluster: bool) -> dict[str, Any] | None:
    family = name[len("default."):] if name.startswith("default.") else ""
    if family not in cat.FAMILIES:
        return None
    kind = "DBClusterParameterGroup" if cluster else "DBParameterGroup"
    return {f"{kind}Name": name, "DBParameterGroupFamily": family,
            "Description": f"Default {'cluster ' if cluster else ''}parameter group for {family}"}


def describe_groups(call: hooks.Call) -> Answer | None:
    name = call.params.get("DBParameterGroupName")
    if not name:
        return None  # the whole list: moto's answer
    found = _client(call).describe_db_parameter_groups(DBParameterGroupName=name)["DBParameterGroups"]
    if found:
        return None
    default = _default_group(name, cluster=False)
    if default is not None:
        return _ok({"DBParameterGroups": [default]})
    return hooks.error_answer("DBParameterGroupNotFound", f"DBParameterGroup not found: {name}", 404)


def _group(call: hooks.Call, name: str, cluster: bool) -> tuple[str | None, dict[str, dict[str, Any]]] | Answer:
    """The group's family and the values stored for it (or AWS's not-found answer)."""
    client = _client(call)
    try:
        if cluster:
            groups = client.describe_db_cluster_parameter_groups(DBClusterParameterGroupName=name)
            family = groups["DBClusterParameterGroups"][0]["DBParameterGroupFamily"]
            stored = client.describe_db_cluster_parameters(DBClusterParameterGroupName=name)["Parameters"]
        else:
            groups = client.describe_db_parameter_groups(DBParameterGroupName=name)["DBParameterGroups"]
            if not groups:
                raise LookupError(name)
            family = groups[0]["DBParameterGroupFamily"]
            stored = client.describe_db_parameters(DBParameterGroupName=name)["Parameters"]
    except Exception:  # noqa: BLE001 - moto's not-found, or a default group moto does not keep
        default = _default_group(name, cluster)
        if default is None:
            kind = "DBClusterParameterGroup" if cluster else "DB Parameter Group"
            return hooks.error_answer("DBParameterGroupNotFound", f"{kind} {name} not found.", 404)
        return default["DBParameterGroupFamily"], {}
    return family, {s["ParameterName"]: s for s in stored}


def _parameter(spec: cat.ParameterSpec, stored: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {"ParameterName": spec.name}
    value = stored.get("ParameterValue") if stored else spec.value
    if value is not None:
        out["ParameterValue"] = value
    out.update({
        "Description": spec.description, "Source": "user" if stored else spec.source,
        "ApplyType": spec.apply_type, "DataType": spec.data_type, "IsModifiable": spec.modifiable,
        "ApplyMethod": (stored or {}).get("ApplyMethod", "pending-reboot"),
    })
    if spec.allowed is not None:
        out["AllowedValues"] = spec.allowed
    return out


def _describe_parameters(call: hooks.Call, cluster: bool) -> Answer:
    key = "DBClusterParameterGroupName" if cluster else "DBParameterGroupName"
    found = _group(call, call.params[key], cluster)
    if isinstance(found[0], int):
        return found  # type: ignore[return-value]
    family, stored = found  # type: ignore[misc]
    listed = [_parameter(s, stored.get(s.name)) for s in cat.parameters(family or "")] if family in cat.FAMILIES else []
    known = {p["ParameterName"] for p in listed}
    for name, value in stored.items():  # parameters the sample does not describe, set by the learner
        if name not in known:
            listed.append({"ParameterName": name, "ParameterValue": value.get("ParameterValue"), "Source": "user",
                           "ApplyMethod": value.get("ApplyMethod", "pending-reboot"), "IsModifiable": True})
    if call.params.get("Source"):
        listed = [p for p in listed if p.get("Source") == call.params["Source"]]
    return _page(listed, call.params, "Parameters")


def describe_parameters(call: hooks.Call) -> Answer:
    return _describe_parameters(call, cluster=False)


def describe_cluster_parameters(call: hooks.Call) -> Answer:
    return _describe_parameters(call, cluster=True)


def _in_range(value: str, allowed: str, data_type: str) -> bool:
    if data_type in ("integer", "float"):
        low, _, high = allowed.rpartition("-") if allowed.count("-") > 1 else allowed.partition("-")
        try:
            number = float(value)
            return float(low) <= number <= float(high)
        except ValueError:
            return value.startswith("{") or "(" in value  # a formula such as {DBInstanceClassMemory/12582880}
    return value in allowed.split(",")


def _modify(call: hooks.Call, cluster: bool) -> Answer | None:
    key = "DBClusterParameterGroupName" if cluster else "DBParameterGroupName"
    name = call.params.get(key, "")
    if name.startswith("default."):
        return hooks.error_answer("InvalidDBParameterGroupState",
                                  f"Default parameter groups cannot be modified: {name}")
    found = _group(call, name, cluster)
    if isinstance(found[0], int):
        return found  # type: ignore[return-value]
    family = found[0]
    parameters = call.params.get("Parameters") or []
    if len(parameters) > 20:
        return hooks.error_answer("InvalidParameterValue", "You can modify up to 20 parameters in one request.")
    for given in parameters:
        spec = cat.spec(family or "", given.get("ParameterName", "")) if family in cat.FAMILIES else None
        if spec is None:
            continue
        method = given.get("ApplyMethod")
        if not spec.modifiable:
            return hooks.error_answer("InvalidParameterValue", f"The parameter {spec.name} cannot be modified.")
        if method == "immediate" and spec.apply_type == "static":
            return hooks.error_answer("InvalidParameterCombination",
                                      f"cannot use immediate apply method for static parameter {spec.name}")
        value = given.get("ParameterValue")
        if value is not None and spec.allowed and not _in_range(str(value), spec.allowed, spec.data_type):
            return hooks.error_answer("InvalidParameterValue",
                                      f"Value: {value} is outside of range: {spec.allowed} for parameter: {spec.name}")
    return None


def modify_group(call: hooks.Call) -> Answer | None:
    return _modify(call, cluster=False)


def modify_cluster_group(call: hooks.Call) -> Answer | None:
    return _modify(call, cluster=True)


BEFORE = {
    "DescribeDBEngineVersions": describe_engine_versions,
    "DescribeOrderableDBInstanceOptions": describe_orderable,
    "DescribeDBParameterGroups": describe_groups,
    "DescribeDBParameters": describe_parameters,
    "DescribeDBClusterParameters": describe_cluster_parameters,
    "ModifyDBParameterGroup": modify_group,
    "ModifyDBClusterParameterGroup": modify_cluster_group,
}


def subscribe() -> None:
    for operation, fn in BEFORE.items():
        hooks.subscribe("before", "rds", operation, fn, internal=False)
