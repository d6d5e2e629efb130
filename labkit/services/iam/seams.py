"""Where the IAM service reaches into moto.

Nothing is replaced: enforcement, trust policies, user boundaries and the
simulator listen to boto3 calls (:mod:`.enforce`). These seams are *called*:
moto's IAM and STS state (users, their keys and policies, roles, role
sessions), AWS managed policies created one at a time (:mod:`.managed`), and
the resource policies of queues, topics, functions and buckets
(:mod:`.resources`). The registry checks :data:`SEAMS` when IAM is first used,
and :data:`RESOURCE_SEAMS` are checked at the first evaluation that reads a
resource;
``tests/services/test_iam.py`` checks the instance attributes on real objects.
"""

from __future__ import annotations

from labkit.core.seams import Seam

SEAMS: tuple[Seam, ...] = (
    Seam("moto.iam.models", "iam_backends", None),
    Seam("moto.iam.models", "IAMBackend.access_keys", None, instance=True),
    Seam("moto.iam.models", "IAMBackend.users", None, instance=True),
    Seam("moto.iam.models", "IAMBackend.roles", None, instance=True),
    Seam("moto.iam.models", "IAMBackend.groups", None, instance=True),
    Seam("moto.iam.models", "IAMBackend.managed_policies", None, instance=True),
    Seam("moto.iam.models", "IAMBackend.aws_managed_policies", None, instance=True),
    Seam("moto.iam.models", "IAMBackend.tagger", None, instance=True),
    Seam("moto.iam.models", "IAMBackend.get_groups_for_user", ("self", "user_name")),
    Seam("moto.iam.models", "AWSManagedPolicy.from_data", ("name", "account_id", "region_name", "data")),
    Seam("moto.iam.models", "AccessKey.user_name", None, instance=True),
    Seam("moto.iam.models", "AccessKey.status", None, instance=True),
    Seam("moto.iam.models", "Role.assume_role_policy_document", None, instance=True),
    Seam("moto.iam.models", "Role.permissions_boundary_arn", None, instance=True),
    Seam("moto.iam.aws_managed_policies", "aws_managed_policies_data", None),
    Seam("moto.sts.models", "sts_backends", None),
    Seam("moto.sts.models", "STSBackend.get_assumed_role_from_access_key", ("self", "access_key_id")),
    Seam("moto.sts.models", "STSBackend.assume_role",
         ("self", "region_name", "role_session_name", "role_arn", "policy", "duration", "external_id")),
    Seam("moto.sts.models", "AssumedRole.expiration", None, instance=True),
    Seam("moto.sts.models", "AssumedRole.policy", None, instance=True),
)

#: The resource policies and key schemas read while evaluating: checked at the first
#: evaluation that needs them (:func:`check_resource_seams`), so that the first IAM call
#: does not import the models of services a lab may never use.
RESOURCE_SEAMS: tuple[Seam, ...] = (
    Seam("moto.sqs.models", "sqs_backends", None),
    Seam("moto.sqs.models", "Queue.policy", None),
    Seam("moto.sns.models", "sns_backends", None),
    Seam("moto.sns.models", "Topic.policy", None),
    Seam("moto.awslambda.utils", "get_backend", ("account_id", "region")),
    Seam("moto.awslambda.models", "LambdaBackend._lambdas", None, instance=True),
    Seam("moto.awslambda.models", "LambdaStorage._functions", None, instance=True),
    Seam("moto.s3.models", "s3_backends", None),
    Seam("moto.s3.models", "FakeBucket.policy", None, instance=True),
    Seam("moto.dynamodb.models", "dynamodb_backends", None),
    Seam("moto.dynamodb.models.table", "Table.hash_key_attr", None, instance=True),
)


_CHECKED: list[bool] = [False]


def check_resource_seams() -> None:
    """Check :data:`RESOURCE_SEAMS` once; raise :class:`labkit.core.seams.SeamMoved` naming what moved."""
    if _CHECKED[0]:
        return
    from labkit.core import seams

    problems = seams.check(RESOURCE_SEAMS)
    if problems:
        raise seams.SeamMoved("labkit.services.iam reads resource policies where moto no longer keeps them: "
                              + "; ".join(problems))
    _CHECKED[0] = True
