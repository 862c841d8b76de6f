"""Reading inputs and writing outputs: readers per format, the input registry, record
writers, atomic writes. Nothing here imports spaCy.
"""
