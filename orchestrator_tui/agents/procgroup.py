"""The agents' name for infra/procgroup.py (process groups, pidfiles, the lifeline): the very
same module object, so that a setting changed through either name holds for both."""

import sys

from ..infra import procgroup

sys.modules[__name__] = procgroup
