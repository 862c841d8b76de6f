"""Annotated corpora: reading, checks, splits, agreement, stratification, document import
and provenance.
"""
