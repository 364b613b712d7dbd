"""The ``neuroemu`` command line: a thin click layer over the library; the only place that prints
or exits.
"""
