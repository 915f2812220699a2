"""Identity and access (users, projects, tokens) and trust: the centre's keys,
ML-DSA result signatures and ML-KEM sealed payloads."""
