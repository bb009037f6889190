"""The date engine: dependency graphs, working days, shifts, cascades and the rules they break.

Pure apart from ``repository``, which loads a project's planning context once per operation.
"""
