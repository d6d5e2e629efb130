"""The shop's names and the :class:`Shop` a build returns.

Every name starts with ``shop`` so that a drawing or a test can tell the
shop from anything else in the account. The chapters are the book's, in the
book's order (``_toc.yml``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

REGION = "us-east-1"

#: The book's chapters, in order; each adds its piece of the shop.
CHAPTERS: tuple[str, ...] = (
    "route53", "elb", "apigateway", "ec2", "ecs", "lambda", "elasticache", "rds",
    "dynamodb", "cloudwatch", "cloudtrail", "iam", "sqs", "sns", "eventbridge", "stepfunctions",
)

DOMAIN = "shop.example.com"
URL = f"http://{DOMAIN}"

# --- the front door -------------------------------------------------------
ALB = "shop-alb"
ALB_SG = "shop-alb-sg"
WEB_TG = "shop-web"
API = "shop-api"
STAGE = "prod"
# --- compute --------------------------------------------------------------
WEB_APP = "shop-web"            # the app registered with lab.ec2.register_app
WEB_SG = "shop-web-sg"
LAUNCH_TEMPLATE = "shop-web"
ASG = "shop-web"
CLUSTER = "shop"
CART = "shop-cart"              # image, task definition family, service, target group
CART_IMAGE = "shop-cart:1"
CART_PORT = 8080
CART_SG = "shop-cart-sg"
ORDERS_FUNCTION = "shop-orders"
ORDERS_ROLE = "shop-orders-role"
# --- data -----------------------------------------------------------------
CACHE = "shop-cache"
DB_CLUSTER = "shop-db"
DB_INSTANCES = ("shop-db-1", "shop-db-2")  # writer, reader
DB_NAME = "shop"
DB_USER = "shop_admin"
DB_PASSWORD = "harbour-tea-2026"  # a sandbox password; on AWS, Secrets Manager keeps it
ORDERS_TABLE = "shop-orders"
PARAMETERS = "/shop/"           # SSM parameters the apps read their configuration from
# --- operate and secure ---------------------------------------------------
LOG_GROUP = "/shop/web"
ALERTS_TOPIC = "shop-alerts"
ALB_ALARM = "shop-alb-5xx"
ORDERS_ALARM = "shop-orders-errors"
TRAIL = "shop-trail"
WEB_ROLE = "shop-web-role"      # and its instance profile, same name
TASK_ROLE = "shop-cart-task-role"
DEVELOPER = "shop-developer"
# --- event coordination ---------------------------------------------------
EVENTS_QUEUE = "shop-order-events"
EVENTS_DLQ = "shop-order-events-dlq"
EMAILS_QUEUE = "shop-emails"
ORDER_TOPIC = "shop-order-placed"
BUS = "shop"
PAID_RULE = "shop-order-paid"
EVENTS_ROLE = "shop-events-role"
STATE_MACHINE = "shop-fulfil-order"
STATES_ROLE = "shop-fulfil-role"
STEP_FUNCTIONS = ("shop-reserve", "shop-charge", "shop-notify")

#: What each chapter adds, by name (the names a drawing of the account shows).
NAMES: dict[str, list[str]] = {
    "route53": [DOMAIN],
    "elb": [ALB, ALB_SG, WEB_TG],
    "apigateway": [API],
    "ec2": [WEB_APP, WEB_SG, LAUNCH_TEMPLATE, ASG],
    "ecs": [CLUSTER, CART, CART_SG],
    "lambda": [ORDERS_FUNCTION, ORDERS_ROLE],
    "elasticache": [CACHE],
    "rds": [DB_CLUSTER, *DB_INSTANCES],
    "dynamodb": [ORDERS_TABLE],
    "cloudwatch": [LOG_GROUP, ALERTS_TOPIC, ALB_ALARM, ORDERS_ALARM],
    "cloudtrail": [TRAIL],  # and its bucket, shop-trail-<account>
    "iam": [WEB_ROLE, TASK_ROLE, DEVELOPER],
    "sqs": [EVENTS_QUEUE, EVENTS_DLQ],
    "sns": [ORDER_TOPIC, EMAILS_QUEUE],
    "eventbridge": [BUS, PAID_RULE, EVENTS_ROLE],
    "stepfunctions": [STATE_MACHINE, STATES_ROLE, *STEP_FUNCTIONS],
}


def trail_bucket(account_id: str) -> str:
    """The S3 bucket CloudTrail writes the shop's trail to."""
    return f"shop-trail-{account_id}"


def chapters_through(through: str | None = None, before: str | None = None) -> tuple[str, ...]:
    """The chapters a build covers: up to and including ``through``, or every
    chapter before ``before`` (not both)."""
    if through is not None and before is not None:
        raise ValueError("give through= or before=, not both")
    for given in (through, before):
        if given is not None and given not in CHAPTERS:
            raise ValueError(f"no chapter {given!r}; the chapters are {', '.join(CHAPTERS)}")
    if before is not None:
        return CHAPTERS[:CHAPTERS.index(before)]
    return CHAPTERS[:CHAPTERS.index(through or CHAPTERS[-1]) + 1]


@dataclass
class Shop:
    """The shop as built: where to reach it and what each chapter added."""

    url: str = URL
    api_url: str | None = None  # https://<id>.execute-api.us-east-1.amazonaws.com/prod, once apigateway is built
    chapters_built: tuple[str, ...] = ()
    names: dict[str, list[str]] = field(default_factory=dict)
    stack_name: str | None = None  # the CloudFormation stack, when deploy() made it
    filled: tuple[str, ...] = ()  # the template's resources labkit created after the stack (deploy())

    def product_url(self, product_id: int | str) -> str:
        """The web page of one product, through Route 53 and the ALB."""
        return f"{self.url}/products/{product_id}"
