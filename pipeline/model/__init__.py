"""The estimator and what it is made of: features, classifiers, decision rules, training
and safe persistence.
"""
