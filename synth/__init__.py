"""Seeded multicentre synthetic cohorts written in each centre's own export format.

* :func:`generate_cohort` - ground truth in canonical form (Table 1 of the study, its associations);
* :func:`write_exports` - the centre files (via the centre profiles, run backwards), with optional
  error injection recorded line by line in the :class:`Manifest`;
* :data:`ERROR_KINDS` - the kinds of injected error and how each shows in the data.
"""

from synth.cohort import Cohort, generate_cohort
from synth.exports import Manifest, write_exports
from synth.inject import ERROR_KINDS, INJECTED_COLUMNS

__all__ = ["Cohort", "generate_cohort", "Manifest", "write_exports", "ERROR_KINDS", "INJECTED_COLUMNS"]
