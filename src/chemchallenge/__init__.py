"""chemchallenge: from Challenge Data chemistry CSVs to a validated submission and a report."""

__version__ = "0.1.0"
