"""Accounting: what projects are charged for, beside the jobs they run (reserved time)."""
