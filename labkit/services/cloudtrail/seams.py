"""Where the CloudTrail service reaches into moto.

==============================  =============================================
moto attribute                  what labkit does with it
==============================  =============================================
``TrailStatus.description``     replaced: GetTrailStatus reports the last
                                real log file delivery and its error
                                (:func:`.trails.trail_status`), not a
                                delivery "now" at every call
``cloudtrail_backends``,        read: the trails, their status, bucket,
``Trail.*``                     prefix, Region and selectors
``iam_backends``,               read: whose access key signed a call (a
``IAMBackend.access_keys``,     user's key), and the role of a session
``IAMBackend.users``,
``IAMBackend.get_role_by_arn``
``sts_backends``,               read: the sessions ``AssumeRole`` issued
``STSBackend.assumed_roles``,   and their temporary keys
``AssumedRole.*``
``s3_backends``,                read: the bucket policy CreateTrail checks
``S3Backend.get_bucket``,
``FakeBucket.policy``
==============================  =============================================

``LookupEvents`` has no moto method to replace (moto does not implement
it): the recorder answers it at the ``before`` stage of the call.

The registry checks every seam when CloudTrail is first used;
``tests/services/test_cloudtrail.py`` checks instance attributes on real moto
objects.
"""

from __future__ import annotations

from labkit.core.seams import Seam

from .trails import trail_status

SEAMS: tuple[Seam, ...] = (
    # Replaced.
    Seam("moto.cloudtrail.models", "TrailStatus.description", ("self",), trail_status),
    # Read.
    Seam("moto.cloudtrail.models", "cloudtrail_backends", None),
    Seam("moto.cloudtrail.models", "CloudTrailBackend.trails", None, instance=True),
    Seam("moto.cloudtrail.models", "Trail.arn", None),
    Seam("moto.cloudtrail.models", "Trail.trail_name", None, instance=True),
    Seam("moto.cloudtrail.models", "Trail.region_name", None, instance=True),
    Seam("moto.cloudtrail.models", "Trail.bucket_name", None, instance=True),
    Seam("moto.cloudtrail.models", "Trail.s3_key_prefix", None, instance=True),
    Seam("moto.cloudtrail.models", "Trail.is_multi_region", None, instance=True),
    Seam("moto.cloudtrail.models", "Trail.status", None, instance=True),
    Seam("moto.cloudtrail.models", "Trail.event_selectors", None, instance=True),
    Seam("moto.cloudtrail.models", "Trail.advanced_event_selectors", None, instance=True),
    Seam("moto.cloudtrail.models", "TrailStatus.is_logging", None, instance=True),
    Seam("moto.iam.models", "iam_backends", None),
    Seam("moto.iam.models", "IAMBackend.access_keys", None, instance=True),
    Seam("moto.iam.models", "IAMBackend.users", None, instance=True),
    Seam("moto.iam.models", "IAMBackend.get_role_by_arn", ("self", "arn")),
    Seam("moto.iam.models", "AccessKey.user_name", None, instance=True),
    Seam("moto.iam.models", "AccessKey.create_date", None, instance=True),
    Seam("moto.sts.models", "sts_backends", None),
    Seam("moto.sts.models", "STSBackend.assumed_roles", None, instance=True),
    Seam("moto.sts.models", "AssumedRole.arn", None),
    Seam("moto.sts.models", "AssumedRole.user_id", None),
    Seam("moto.sts.models", "AssumedRole.access_key_id", None, instance=True),
    Seam("moto.sts.models", "AssumedRole.role_arn", None, instance=True),
    Seam("moto.sts.models", "AssumedRole.session_name", None, instance=True),
    Seam("moto.sts.models", "AssumedRole.account_id", None, instance=True),
    Seam("moto.s3.models", "s3_backends", None),
    Seam("moto.s3.models", "S3Backend.get_bucket", ("self", "bucket_name")),
    Seam("moto.s3.models", "FakeBucket.policy", None, instance=True),
)
