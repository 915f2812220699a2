"""Workers: where compiled circuits meet engines; ``qharbor.executors`` runs them."""
