"""The engines, versions, instance classes and engine parameters the emulated RDS offers.

moto answers ``DescribeDBEngineVersions`` with NotImplementedError, knows
orderable instance classes for aurora-postgresql only, and gives a new DB
parameter group no engine parameters at all. AWS's own SDK examples start
there: they list the versions of an engine, pick a parameter group family,
create a group, read its ``auto_increment`` parameters and change them. This
module is the fixed data :mod:`.catalogue_api` answers from.

The data is a *sample* of what AWS has offered, written down once (versions
from AWS's release notes and upgrade tables): the four engines the chapters
use, a few versions each, the instance classes the chapters and examples ask
for, and a dozen engine parameters per family with their type, range and
whether a change needs a reboot (ranges are the engines' own; where labkit
could not confirm AWS's range, none is given and no value is refused). The live AWS list is longer and changes every
month; code that must work on AWS should pick a version from what
``describe_db_engine_versions`` returns, never hard-code one.
"""

from __future__ import annotations

from dataclasses import dataclass

# ---------------------------------------------------------------- engines and versions


@dataclass(frozen=True)
class EngineVersion:
    engine: str
    version: str
    family: str
    major: str
    default: bool = False


_ENGINE_DESCRIPTIONS = {
    "postgres": "PostgreSQL",
    "mysql": "MySQL Community Edition",
    "aurora-postgresql": "Aurora (PostgreSQL)",
    "aurora-mysql": "Aurora MySQL",
}

VERSIONS: tuple[EngineVersion, ...] = (
    EngineVersion("postgres", "16.3", "postgres16", "16"),
    EngineVersion("postgres", "16.8", "postgres16", "16"),
    EngineVersion("postgres", "17.4", "postgres17", "17"),
    EngineVersion("postgres", "17.5", "postgres17", "17", default=True),
    EngineVersion("mysql", "8.0.39", "mysql8.0", "8.0"),
    EngineVersion("mysql", "8.0.40", "mysql8.0", "8.0"),
    EngineVersion("mysql", "8.4.5", "mysql8.4", "8.4", default=True),
    EngineVersion("aurora-postgresql", "17.4", "aurora-postgresql17", "17"),
    EngineVersion("aurora-postgresql", "17.5", "aurora-postgresql17", "17", default=True),
    EngineVersion("aurora-mysql", "8.0.mysql_aurora.3.08.2", "aurora-mysql8.0", "8.0"),
    EngineVersion("aurora-mysql", "8.0.mysql_aurora.3.09.0", "aurora-mysql8.0", "8.0"),
    EngineVersion("aurora-mysql", "8.0.mysql_aurora.3.10.0", "aurora-mysql8.0", "8.0", default=True),
)

ENGINES = tuple(_ENGINE_DESCRIPTIONS)
FAMILIES = tuple(dict.fromkeys(v.family for v in VERSIONS))

#: Engines AWS offers that this sample leaves out: asked for, they get a clear error, not an empty list.
OTHER_AWS_ENGINES = ("mariadb", "oracle-ee", "oracle-ee-cdb", "oracle-se2", "oracle-se2-cdb", "sqlserver-ee",
                     "sqlserver-se", "sqlserver-ex", "sqlserver-web", "db2-ae", "db2-se", "custom-oracle-ee",
                     "custom-sqlserver-ee", "custom-sqlserver-se", "custom-sqlserver-web", "neptune", "docdb")


def engine_description(engine: str) -> str:
    return _ENGINE_DESCRIPTIONS[engine]


def version_description(v: EngineVersion) -> str:
    if v.engine == "aurora-mysql":
        return f"Aurora MySQL 3 (compatible with MySQL {v.version.split('.mysql_aurora.')[0]}), {v.version}"
    return f"{_ENGINE_DESCRIPTIONS[v.engine]} {v.version}"


def family_engine(family: str) -> str | None:
    """The engine a parameter group family belongs to (None: not in the sample)."""
    for v in VERSIONS:
        if v.family == family:
            return v.engine
    return None


def upgrade_targets(v: EngineVersion) -> list[EngineVersion]:
    """Later versions of the same engine (a major upgrade goes one major at a time)."""
    def key(x: EngineVersion) -> tuple[int, ...]:
        return tuple(int(p) for p in x.version.replace(".mysql_aurora.", ".").split(".") if p.isdigit())

    later = [x for x in VERSIONS if x.engine == v.engine and key(x) > key(v)]
    return [x for x in later if x.major == v.major or x.major == min(y.major for y in later if y.major != v.major)]


# ---------------------------------------------------------------- instance classes

_RDS_CLASSES = ("db.t3.micro", "db.t4g.micro", "db.t3.small", "db.t4g.small", "db.t3.medium", "db.t4g.medium",
                "db.m5.large", "db.m6g.large", "db.m7g.large", "db.r5.large", "db.r6g.large", "db.r7g.large")
_AURORA_CLASSES = ("db.t3.medium", "db.t4g.medium", "db.r5.large", "db.r6g.large", "db.r7g.large",
                   "db.r6g.xlarge", "db.serverless")


def instance_classes(engine: str) -> tuple[str, ...]:
    return _AURORA_CLASSES if engine.startswith("aurora") else _RDS_CLASSES


# ---------------------------------------------------------------- engine parameters


@dataclass(frozen=True)
class ParameterSpec:
    name: str
    data_type: str  # integer | string | boolean | float | list
    apply_type: str  # dynamic | static
    allowed: str | None  # "1-65535", "0,1", None (any)
    description: str
    value: str | None = None  # the family's default (None: the engine's built-in default)
    source: str = "engine-default"  # or "system" (RDS sets it, often from a formula)
    modifiable: bool = True


_MYSQL = (
    ParameterSpec("auto_increment_increment", "integer", "dynamic", "1-65535",
                  "Step between successive AUTO_INCREMENT values (used with auto_increment_offset)."),
    ParameterSpec("auto_increment_offset", "integer", "dynamic", "1-65535",
                  "First AUTO_INCREMENT value, for tables that share a key space between writers."),
    ParameterSpec("max_connections", "integer", "dynamic", "1-100000",
                  "Most client connections the server accepts at once.",
                  value="{DBInstanceClassMemory/12582880}", source="system"),
    ParameterSpec("innodb_buffer_pool_size", "integer", "static", None,
                  "Memory InnoDB keeps for cached table and index pages.",
                  value="{DBInstanceClassMemory*3/4}", source="system"),
    ParameterSpec("character_set_server", "string", "dynamic", None, "Default character set of new databases."),
    ParameterSpec("time_zone", "string", "dynamic", None, "Time zone of the server's clock (default UTC)."),
    ParameterSpec("slow_query_log", "boolean", "dynamic", "0,1", "Log queries that take longer than long_query_time."),
    ParameterSpec("long_query_time", "float", "dynamic", "0-31536000",
                  "Seconds after which a query counts as slow."),
    ParameterSpec("wait_timeout", "integer", "dynamic", "1-31536000",
                  "Seconds an idle connection may stay open before the server closes it."),
    ParameterSpec("max_allowed_packet", "integer", "dynamic", "1024-1073741824",
                  "Largest packet or row the server accepts, in bytes."),
)

_POSTGRES = (
    ParameterSpec("max_connections", "integer", "static", None, "Most concurrent connections.",
                  value="LEAST({DBInstanceClassMemory/9531392},5000)", source="system"),
    ParameterSpec("shared_buffers", "integer", "static", "16-1073741823",
                  "Memory for shared page buffers, in 8 kB pages.",
                  value="{DBInstanceClassMemory/32768}", source="system"),
    ParameterSpec("work_mem", "integer", "dynamic", "64-2147483647",
                  "Memory one sort or hash step may use before spilling to disk, in kB."),
    ParameterSpec("log_min_duration_statement", "integer", "dynamic", "-1-2147483647",
                  "Log statements that run at least this many milliseconds (-1: off)."),
    ParameterSpec("statement_timeout", "integer", "dynamic", "0-2147483647",
                  "Cancel a statement after this many milliseconds (0: never)."),
    ParameterSpec("idle_in_transaction_session_timeout", "integer", "dynamic", "0-2147483647",
                  "End a session idle inside a transaction after this many milliseconds (0: never)."),
    ParameterSpec("rds.force_ssl", "boolean", "dynamic", "0,1", "Refuse connections that do not use TLS."),
    ParameterSpec("timezone", "string", "dynamic", None, "Time zone for displaying and reading timestamps."),
    ParameterSpec("log_statement", "list", "dynamic", "none,ddl,mod,all", "Which kinds of statement to log."),
    ParameterSpec("shared_preload_libraries", "list", "static", None, "Libraries loaded when the server starts."),
)


def parameters(family: str) -> tuple[ParameterSpec, ...]:
    """The engine parameters of a family (the same list for DB and DB cluster parameter groups)."""
    engine = family_engine(family) or ""
    return _POSTGRES if engine.endswith("postgres") or engine == "aurora-postgresql" else _MYSQL


def spec(family: str, name: str) -> ParameterSpec | None:
    return next((p for p in parameters(family) if p.name == name), None)
