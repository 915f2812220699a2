"""Workers: where compiled circuits meet engines, in processes of their own."""
