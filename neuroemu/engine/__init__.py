"""Running a network in Brian2: the only package that imports it."""
