"""codesign's benchmarks (``make bench``): each module is a script, ``python -m benchmarks.NAME``
from the repository root; shared code lives in benchmarks.common."""
