"""labkit's core: the sandbox and the machinery every service shares.

It knows no service. Services declare themselves to :mod:`~labkit.core.registry`
and listen to boto3 calls through :mod:`~labkit.core.hooks`.

- :mod:`~labkit.core.offline`   - the guard: nothing leaves the machine (installed by ``import labkit``)
- :mod:`~labkit.core.sandbox`   - fake credentials, moto, the handle ``lab``
- :mod:`~labkit.core.hooks`     - one botocore dispatcher: params, before, after; internal calls marked
- :mod:`~labkit.core.registry`  - the services, installed at first use; reset and close
- :mod:`~labkit.core.seams`     - moto internals patched or called, checked against the tested moto
- :mod:`~labkit.core.clock`     - the sandbox clock (real time; ``lab.clock.advance(seconds)``)
- :mod:`~labkit.core.aws`       - ARNs, AWS timestamps, regions, labkit's own clients
- :mod:`~labkit.core.loopback`  - TCP servers on 127.0.0.1 with a clean stop
- :mod:`~labkit.core.ratelimit` - the token bucket behind every simulated throttle
- :mod:`~labkit.core.platform`  - where labkit runs: a local Python, or a browser tab (the browser edition)
- :mod:`~labkit.core.nocrypto`  - the browser edition's stand-in for ``cryptography``, just enough for moto to import
"""

from labkit.core import lazy as _lazy

_lazy.install()  # before anything imports jsonschema (see labkit.core.lazy)
