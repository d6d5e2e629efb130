"""labkit: the helper package of the hands-on AWS architecture course.

One import and one call set up every notebook::

    import labkit
    lab = labkit.start()          # the offline AWS sandbox (see labkit.sandbox)

Then the lab uses plain boto3. labkit only hides what is not the lesson:

The sandbox and the course's machinery:

- :mod:`labkit.sandbox`  - fake credentials, the emulated account, reset
- :mod:`labkit.offline`  - the guarantee that no request reaches real AWS
- :mod:`labkit.check`    - exercise checks with points and feedback
- :mod:`labkit.diagrams` - architecture diagrams in one house style
- :mod:`labkit.quiz`     - self-check quizzes that work in the static book too
- :mod:`labkit.show`     - boto3 responses printed without the noise
- :mod:`labkit.release`  - student copies of a lab (solutions replaced by stubs)
- :mod:`labkit.grade`    - the auto-grader (``labkit grade``)
- :mod:`labkit.book`     - how the HTML book renders check results

Behaviour moto lacks, each driven by what you configured through boto3:

- :mod:`labkit.moto_seams`     - every patch of moto internals, in one place
- :mod:`labkit.lambda_runtime` - Lambda functions that really run, for every trigger
- :mod:`labkit.lambda_pricing` - the Lambda cost arithmetic of the Lambda chapter
- :mod:`labkit.sns`            - FIFO topic deduplication
- :mod:`labkit.eventbridge`    - AWS service events, schedules, input transformers
- :mod:`labkit.stepfunctions`  - state machines drawn from their ASL; execution helpers
- :mod:`labkit.elasticache`    - Redis and Memcached servers behind the reported endpoints
- :mod:`labkit.rds`            - SQL (SQLite) behind RDS and Aurora endpoints
- :mod:`labkit.dynamodb`       - TTL sweeps, a streams client, simulated throttling
"""

from labkit.check import between, contains, exercise, one_of, satisfies
from labkit.sandbox import Sandbox, running, start
from labkit.show import show

__all__ = [
    "Sandbox",
    "between",
    "contains",
    "exercise",
    "one_of",
    "running",
    "satisfies",
    "show",
    "start",
]
__version__ = "0.1.0"
