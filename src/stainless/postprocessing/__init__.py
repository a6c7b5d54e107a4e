"""From predicted maps back to labels (the mirror of :mod:`stainless.data.targets`)."""
