"""labkit: the helper package of the hands-on AWS architecture course.

One import and one call set up every notebook::

    import labkit
    lab = labkit.start()          # the offline AWS sandbox (see labkit.sandbox)

Then the lab uses plain boto3. labkit only hides what is not the lesson:

- :mod:`labkit.sandbox`  - fake credentials, the emulated account, reset
- :mod:`labkit.offline`  - the guarantee that no request reaches real AWS
- :mod:`labkit.check`    - exercise checks with points and feedback
- :mod:`labkit.diagrams` - architecture diagrams in one house style
- :mod:`labkit.quiz`     - self-check quizzes that work in the static book too
- :mod:`labkit.release`  - student copies of a lab (solutions replaced by stubs)
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
