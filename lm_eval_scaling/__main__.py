"""``python -m lm_eval_scaling``."""

from .cli import main

raise SystemExit(main())
